from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from branches.models import OrgUnit


def get_unit_for_user(user, code: str) -> OrgUnit:
    """The unit with this code if the user may see it; 404 otherwise."""
    try:
        return OrgUnit.objects.visible_to(user).get(code=code)
    except OrgUnit.DoesNotExist:
        raise Http404("no such unit in your jurisdiction") from None


@login_required
def unit_list(request):
    units = OrgUnit.objects.visible_to(request.user)
    page = Paginator(units, 50).get_page(request.GET.get("page"))
    return render(request, "branches/unit_list.html", {"page": page})


@login_required
def unit_detail(request, code):
    unit = get_unit_for_user(request.user, code)
    return render(request, "branches/unit_detail.html", {"unit": unit})
