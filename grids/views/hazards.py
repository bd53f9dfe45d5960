"""The hazard ledger pages: the list (overdue flagged), record, one hazard with its steps,
evidence upload and 销号."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from grids.access import MAX_ID, get_hazard_for_user, require_reader
from grids.forms import EvidenceForm, HazardCloseForm, HazardForm
from grids.models import Grid, Hazard
from grids.services import hazards as service

PAGE_SIZE = 50


@login_required
def hazard_list(request):
    user = request.user
    require_reader(user)
    hazards = Hazard.objects.visible_to(user).select_related("grid")
    status = request.GET.get("status", "")
    today = timezone.localdate()
    if status == "OVERDUE":
        hazards = hazards.overdue_on(today)
    elif status in Hazard.Status.values:
        hazards = hazards.filter(status=status)
    page = Paginator(hazards.order_by("-found_on", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    for hazard in page.object_list:
        hazard.overdue = hazard.is_overdue_on(today)
    return render(
        request,
        "grids/hazard_list.html",
        {
            "page": page,
            "status": status,
            "statuses": [("", _("全部")), *Hazard.Status.choices, ("OVERDUE", _("逾期未销号"))],
            "may_record": user.can_record_hazards,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def hazard_create(request):
    user = request.user
    require_reader(user)
    if not user.can_record_hazards:
        raise PermissionDenied
    grids = Grid.objects.visible_to(user).active().order_by("code")
    form = HazardForm(
        request.POST or None,
        grids=grids,
        initial={"deadline": timezone.localdate() + timedelta(days=15)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            hazard = service.hazard_record(user=user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("隐患已登记，编号 %(n)s。") % {"n": hazard.number})
            return redirect("grids:hazard_detail", number=hazard.number)
    return render(
        request,
        "grids/hazard_form.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def hazard_detail(request, number):
    return _detail(request, get_hazard_for_user(request.user, number))


def _detail(request, hazard, *, evidence_form=None, close_form=None):
    """The hazard page; after a refused upload or 销号, that form with its errors (400)."""
    user = request.user
    refused = evidence_form is not None or close_form is not None
    evidence_form = evidence_form or EvidenceForm()
    close_form = close_form or HazardCloseForm()
    return render(
        request,
        "grids/hazard_detail.html",
        {
            "hazard": hazard,
            "steps": hazard.steps.all(),
            "evidence": hazard.evidence.all(),
            "overdue": hazard.is_overdue_on(timezone.localdate()),
            "may_upload": user.can_record_hazards and hazard.status == Hazard.Status.OPEN,
            "may_close": user.can_close_hazards and hazard.status == Hazard.Status.OPEN,
            "evidence_form": evidence_form,
            "close_form": close_form,
            "refusals": [*evidence_form.non_field_errors(), *close_form.non_field_errors()],
        },
        status=400 if refused else 200,
    )


@login_required
@require_POST
def hazard_evidence(request, number):
    user = request.user
    hazard = get_hazard_for_user(user, number)
    form = EvidenceForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            service.hazard_evidence_add(hazard=hazard, user=user, upload=form.cleaned_data["file"])
        except ValidationError as error:
            form.add_error(None, error)
    if form.errors:
        return _detail(request, hazard, evidence_form=form)
    messages.success(request, _("佐证已上传。"))
    return redirect("grids:hazard_detail", number=hazard.number)


@login_required
@require_POST
def hazard_close(request, number):
    user = request.user
    hazard = get_hazard_for_user(user, number)
    form = HazardCloseForm(request.POST)
    if form.is_valid():
        try:
            service.hazard_close(hazard=hazard, user=user, note=form.cleaned_data["note"])
        except ValidationError as error:
            form.add_error(None, error)
    if form.errors:
        return _detail(request, hazard, close_form=form)
    messages.success(request, _("隐患已销号。"))
    return redirect("grids:hazard_detail", number=hazard.number)


@login_required
def hazard_evidence_file(request, number, pk):
    hazard = get_hazard_for_user(request.user, number)
    if pk > MAX_ID:
        raise Http404
    item = hazard.evidence.filter(pk=pk).first()
    if item is None:
        raise Http404
    return FileResponse(item.file.open("rb"), as_attachment=True, filename=item.original_name)
