"""The township month workbench (the staff's home): this month and the last closed month,
branch by branch, bulk submit of complete drafts, and the months that need action."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from branches.forms.reports import BulkSubmitForm
from branches.models import OrgUnit
from branches.periods import month_label
from branches.services import workbench
from branches.views.reports import get_report_unit_for_user
from branches.views.units import breadcrumbs_for


def workbench_context(user, township: OrgUnit) -> dict:
    """The workbench's tables and lists (also shown on the home page of a township's staff)."""
    this_month = timezone.localdate().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    months = [
        {
            "period": period,
            "value": f"{period:%Y-%m}",
            "label": month_label(period),
            "is_open": period == this_month,
            "rows": rows,
            "submittable": sum(row.submittable for row in rows),
            "done": sum(row.status in ("SUBMITTED", "APPROVED") for row in rows),
        }
        for period in (this_month, last_month)
        for rows in [workbench.month_table(user, township, period)]
    ]
    return {
        "township": township,
        "months": months,
        "actions": workbench.needing_action(user, township),
        "can_submit": user.can_enter_reports,
        "due_soon_days": workbench.DUE_SOON_DAYS,
    }


@login_required
@require_http_methods(["GET", "POST"])
def month_workbench(request, code):
    user = request.user
    township = get_report_unit_for_user(user, code)
    if township.level != OrgUnit.Level.TOWNSHIP:
        raise Http404("the workbench is a township's")
    if request.method == "POST":
        if not user.can_enter_reports:
            raise PermissionDenied
        form = BulkSubmitForm(request.POST)
        if form.is_valid():
            results = workbench.drafts_bulk_submit(
                user, township, form.cleaned_data["period"], form.cleaned_data["selected"]
            )
            done = [r for r in results if r.submitted]
            refused = [r for r in results if not r.submitted]
            if len(results) < len(form.cleaned_data["selected"]):
                messages.error(request, _("部分所选报表不属于本乡镇该月，未处理。"))
            if done:
                messages.success(
                    request,
                    _("已提交 %(n)s 份：%(names)s")
                    % {"n": len(done), "names": "、".join(r.unit.name for r in done)},
                )
            # One message per refused branch: each says its own reason.
            for result in refused:
                messages.error(
                    request,
                    _("%(unit)s 未提交：%(reason)s")
                    % {"unit": result.unit.name, "reason": result.message},
                )
        else:
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
        # Back where the form was (the home page or the workbench).
        back = request.POST.get("next", "")
        if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            return redirect(back)
        return redirect("branches:month_workbench", code=township.code)
    context = workbench_context(user, township)
    context["breadcrumbs"] = breadcrumbs_for(user, township)
    return render(request, "branches/workbench.html", context)
