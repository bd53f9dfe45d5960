"""The grid worker's block on the home page (one include in governance/home.html)."""

from django import template

register = template.Library()


@register.inclusion_tag("grids/_my_grids_card.html", takes_context=True)
def my_grids_card(context):
    from grids.views.grids import my_grids_context

    user = context["request"].user
    if not getattr(user, "grids_assigned_only", False):
        return {"show": False}
    return {"show": True, **my_grids_context(user)}
