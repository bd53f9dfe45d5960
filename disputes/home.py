"""The disputes lines of the home page's to-do list (`branches.services.home`)."""

from django.db.models import Count, Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.services.home import HomeItem
from disputes.models import DisputeCase, MediationTeam


def disputes_home_items(user) -> list[HomeItem]:
    """Cases waiting and overdue for those who handle them; everyone's open cases as mediator
    (in person or through a team) — one aggregate over the visible cases. Leaders and
    auditors only read: nothing to do."""
    if user.is_read_only:
        return []
    in_team = MediationTeam.members.through.objects.filter(
        mediationteam_id=OuterRef("team_id"), user_id=user.pk
    )
    counts = (
        DisputeCase.objects.visible_to(user)
        .open()
        .alias(in_team=Exists(in_team))
        .aggregate(
            received=Count("pk", filter=Q(status=DisputeCase.Status.RECEIVED)),
            overdue=Count("pk", filter=Q(due_on__lt=timezone.localdate())),
            mine=Count("pk", filter=Q(mediator_id=user.pk) | Q(in_team=True)),
        )
    )
    ledger = reverse("disputes:case_list")
    items = []
    if user.can_handle_disputes:
        items += [
            HomeItem(
                _("矛盾纠纷待受理调处"),
                counts["received"],
                f"{ledger}?status={DisputeCase.Status.RECEIVED}",
            ),
            HomeItem(_("矛盾纠纷已逾期"), counts["overdue"], f"{ledger}?overdue=on", urgent=True),
        ]
    items.append(HomeItem(_("由我调解的案件"), counts["mine"], reverse("disputes:my_cases")))
    return items
