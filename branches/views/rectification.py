"""The rectification pages (问题清单): the list, an item with its timeline and actions, the
open and edit forms, and bulk opening for the branches that lost a star.

One access rule (`Rectification.objects.visible_to`, `User.can_*_rectifications`) for the
pages, the files and the API: a role that reads no items gets 403, an item outside the
jurisdiction 404, a read-only role writing 403. The rules live in the service.
"""

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from branches.api.rectification import MAX_ID, evidence_file
from branches.forms.rectification import (
    STILL_FAILING,
    BulkForm,
    CloseForm,
    EvidenceForm,
    ListFilterForm,
    ReasonForm,
    RectificationCreateForm,
    RectificationEditForm,
    VersionForm,
)
from branches.models import (
    BranchRating,
    Criterion,
    OrgUnit,
    Rating,
    Rectification,
    RectificationEvidence,
    StarAssessment,
)
from branches.services import rectification as service
from branches.services.workflow import parse_period
from branches.views.units import breadcrumbs_for, get_unit_for_user

Status = Rectification.Status
PAGE_SIZE = 50


def _require_reader(user) -> None:
    if not user.can_read_rectifications:
        raise PermissionDenied


def get_item_for_user(user, pk: int) -> Rectification:
    """An item the user may read: 403 by role, 404 outside the jurisdiction."""
    _require_reader(user)
    if pk > MAX_ID:
        raise Http404("no such item")
    return get_object_or_404(
        Rectification.objects.visible_to(user).select_related(
            "branch", "criterion", "responsible_unit", "responsible_user", "created_by"
        ),
        pk=pk,
    )


def _filtered(user, form: ListFilterForm):
    items = Rectification.objects.visible_to(user).select_related("branch", "criterion")
    if not form.is_valid():
        return items.none()
    data = form.cleaned_data
    today = timezone.localdate()
    status = data["status"]
    if status == Status.OVERDUE:
        items = items.overdue_on(today)
    elif status in (Status.OPEN, Status.IN_PROGRESS):
        items = items.filter(status=status, deadline__gte=today)
    elif status == STILL_FAILING:
        items = items.filter(status=Status.DONE, still_failing=True)
    elif status:
        items = items.filter(status=status)
    if code := data["under"].strip():
        unit = OrgUnit.objects.visible_to(user).filter(code=code).first()
        if unit is None:
            form.add_error("under", _("找不到编码为“%(code)s”的单位，或它不在您的管辖范围内。")
                           % {"code": code})  # fmt: skip
            return items.none()
        items = items.under(unit)
    if code := data["criterion"].strip():
        items = items.filter(criterion__code=code)
    if data["deadline_from"]:
        items = items.filter(deadline__gte=data["deadline_from"])
    if data["deadline_to"]:
        items = items.filter(deadline__lte=data["deadline_to"])
    return items


@login_required
def rectification_list(request):
    user = request.user
    _require_reader(user)
    form = ListFilterForm(request.GET)
    items = _filtered(user, form).order_by("deadline", "id")
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    for item in page.object_list:
        item.overdue = item.is_overdue_on(today)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "branches/rectification_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "can_manage": user.can_manage_rectifications,
        },
        status=200 if form.is_valid() else 400,
    )


def _prefill(request) -> dict:
    """Initial values from ?branch=&criterion=&period= (the scorecard's 列入问题清单)."""
    get = request.GET
    initial = {"deadline": timezone.localdate() + timedelta(days=30)}
    code, criterion, period = get.get("branch", ""), get.get("criterion", ""), get.get("period")
    if len(code) > 32 or len(criterion) > 16:
        return initial
    branch = OrgUnit.objects.visible_to(request.user).rated().filter(code=code).first()
    if branch is None:
        return initial
    initial["branch"] = branch.code
    try:
        month = parse_period(period) if period else timezone.localdate().replace(day=1)
    except ValidationError:
        return initial
    initial["period"] = f"{month:%Y-%m}"
    found = Criterion.objects.filter(
        code=criterion,
        criteria_set__year=month.year,
        criteria_set__area_type=branch.area_type,
        criteria_set__is_active=True,
    ).first()
    if found is not None:
        initial["criterion"] = found.code
        initial["problem"] = service.gap_text(branch, found, month)
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def rectification_create(request):
    user = request.user
    _require_reader(user)
    if not user.can_manage_rectifications:
        raise PermissionDenied
    form = RectificationCreateForm(
        request.POST if request.method == "POST" else None,
        user=user,
        initial=_prefill(request),
    )
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        source = (
            Rectification.Source.SCORECARD if data["criterion"] else Rectification.Source.MANUAL
        )
        try:
            item = service.rectification_open(user=user, source=source, **data)
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("已列入问题清单。"))
            return redirect("rectification_detail", pk=item.pk)
    return render(request, "branches/rectification_form.html", {"form": form, "item": None},
                  status=400 if form.is_bound else 200)  # fmt: skip


def _timeline(item):
    return list(item.events.select_related("actor").order_by("-occurred_at", "-id"))


@login_required
@require_http_methods(["GET", "POST"])
def rectification_detail(request, pk):
    user = request.user
    item = get_item_for_user(user, pk)
    can_work = service.may_work(user, item)
    can_manage = user.can_manage_rectifications
    forms = {
        "close": CloseForm(initial={"version": item.version}),
        "evidence": EvidenceForm(),
        "reopen": ReasonForm(initial={"version": item.version}),
        "start": VersionForm(initial={"version": item.version}),
    }
    status = 200
    if request.method == "POST":
        step = request.POST.get("step", "")
        if step not in forms:
            return render(request, "400.html", status=400)
        if not (can_manage if step == "reopen" else can_work):
            raise PermissionDenied
        if _act(request, item, step, forms):
            return redirect("rectification_detail", pk=item.pk)
        status = 400
    item.refresh_from_db()
    item.overdue = item.is_overdue_on(timezone.localdate())
    return render(
        request,
        "branches/rectification_detail.html",
        {
            "item": item,
            "breadcrumbs": breadcrumbs_for(user, item.branch),
            "events": _timeline(item),
            "evidence": list(item.evidence.order_by("uploaded_at", "id")),
            "can_work": can_work and item.is_open,
            "can_manage": can_manage,
            "forms": forms,
        },
        status=status,
    )


def _act(request, item, step, forms) -> bool:
    """Run one action of the detail page; True when it went through."""
    user = request.user
    form_class = type(forms[step])
    form = form_class(request.POST, request.FILES)
    forms[step] = form
    if not form.is_valid():
        return False
    data = form.cleaned_data
    try:
        if step == "start":
            service.rectification_start(item=item, user=user, expected_version=data["version"])
            messages.success(request, _("已开始整改。"))
        elif step == "close":
            service.rectification_close(
                item=item, user=user, expected_version=data["version"], note=data["note"],
                uploads=data["files"],
            )  # fmt: skip
            messages.success(
                request,
                _("已标记整改完成；之后的重算中该指标达标即自动验证。")
                if item.criterion_id
                else _("已标记整改完成。该事项未关联指标，不会自动验证。"),
            )
        elif step == "reopen":
            service.rectification_reopen(
                item=item, user=user, expected_version=data["version"], reason=data["reason"]
            )
            messages.success(request, _("已退回重新整改。"))
        else:
            service.rectification_evidence_add(item=item, user=user, uploads=data["files"])
            messages.success(request, _("佐证材料已上传。"))
    except service.RectificationConflict as error:
        form.add_error(None, error.describe(user, _("请查看最新内容后再操作。")))
        return False
    except ValidationError as error:
        for message in error.messages:
            form.add_error(None, message)
        return False
    return True


@login_required
@require_http_methods(["GET", "POST"])
def rectification_edit(request, pk):
    user = request.user
    item = get_item_for_user(user, pk)
    if not user.can_manage_rectifications:
        raise PermissionDenied
    if not item.is_open:
        messages.error(request, _("该整改事项为“%(status)s”，不能再修改。")
                       % {"status": item.get_status_display()})  # fmt: skip
        return redirect("rectification_detail", pk=item.pk)
    form = RectificationEditForm(
        request.POST if request.method == "POST" else None, instance=item, user=user
    )
    if form.is_bound and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        item = Rectification.objects.get(pk=item.pk)
        try:
            service.rectification_edit(item=item, user=user, expected_version=version, **data)
        except service.RectificationConflict as error:
            form.add_error(None, error.describe(user, _("您的修改尚未保存，请刷新页面后再修改。")))
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("已保存。"))
            return redirect("rectification_detail", pk=item.pk)
    return render(request, "branches/rectification_form.html", {"form": form, "item": item},
                  status=400 if form.is_bound else 200)  # fmt: skip


@login_required
def rectification_evidence(request, pk, evidence_id):
    item = get_item_for_user(request.user, pk)
    if evidence_id > MAX_ID:
        raise Http404("no such evidence")
    found = get_object_or_404(
        RectificationEvidence.objects.visible_to(request.user), rectification=item, pk=evidence_id
    )
    return evidence_file(found)


def _shift(period: date, months: int) -> date:
    index = period.year * 12 + period.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@login_required
@require_http_methods(["GET", "POST"])
def rectification_bulk(request, code):
    """The branches under a unit that lost a star in a month (?period=, default the last
    rated one), selected and opened as items with one deadline."""
    user = request.user
    _require_reader(user)
    if not user.can_manage_rectifications:
        raise PermissionDenied
    unit = get_unit_for_user(user, code)
    if unit.level >= OrgUnit.Level.VILLAGE:
        raise Http404("bulk opening is for a township or above")
    ratings = BranchRating.objects.visible_to(user).under(unit).filter(kind=Rating.MONTHLY)
    try:
        text = request.GET.get("period", "")
        period = parse_period(text) if text else None
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        period = None
    period = period or ratings.order_by("-period").values_list("period", flat=True).first()
    lost = []
    if period is not None:
        lost = list(
            ratings.filter(period=period)
            .changed("down", previous=_shift(period, -1))
            .select_related("unit")
            .order_by("unit_path")[: service.BULK_MAX]
        )
    branches = [rating.unit for rating in lost]
    form = BulkForm(request.POST if request.method == "POST" else None, branches=branches,
                    initial={"deadline": timezone.localdate() + timedelta(days=30)})  # fmt: skip
    if form.is_bound and form.is_valid():
        chosen = set(form.cleaned_data["selected"])
        items = [
            service.BulkItem(
                branch=rating.unit,
                period=period,
                problem=_("%(month)s星级由 %(before)s 星降为 %(after)s 星，请查找原因并整改。")
                % {
                    "month": f"{period:%Y年%m月}",
                    "before": rating.previous_level,
                    "after": rating.level,
                },
            )
            for rating in lost
            if rating.unit_id in chosen
        ]
        try:
            created = service.rectifications_open_bulk(
                user, items, form.cleaned_data["deadline"], Rectification.Source.SUPERVISION
            )
        except (ValidationError, PermissionDenied) as error:
            form.add_error(None, " ".join(getattr(error, "messages", [str(error)])))
        else:
            messages.success(
                request,
                _("已建立 %(n)s 项整改事项（已有未完成事项的支部未重复建立）。")
                % {"n": len(created)},
            )
            return redirect(f"{reverse('rectification_list')}?under={unit.code}")
    return render(
        request,
        "branches/rectification_bulk.html",
        {
            "unit": unit,
            "breadcrumbs": breadcrumbs_for(user, unit),
            "period": period,
            "lost": lost,
            "form": form,
        },
        status=400 if form.is_bound else 200,
    )


def scorecard_rectify(user, unit: OrgUnit, card: dict | None, *, period: date | None, kind):
    """For the scorecard: each star's failed criteria (to open an item from) and the branch's
    open item count. Adds `failed` [(code, title)] to each star of `card`."""
    if not user.can_read_rectifications:
        return None
    if card is not None and period is not None and kind == Rating.MONTHLY:
        codes = dict(
            StarAssessment.objects.filter(unit=unit, period=period, kind=kind).values_list(
                "star", "failed_codes"
            )
        )
        titles = dict(
            Criterion.objects.filter(criteria_set=card["criteria_set"]).values_list("code", "title")
        )
        for star in card["stars"]:
            star["failed"] = [(c, titles.get(c, c)) for c in codes.get(star["number"], [])]
    counts = dict(
        Rectification.objects.visible_to(user)
        .filter(branch=unit)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {
        "open": sum(counts.get(s, 0) for s in Rectification.OPEN_STATUSES),
        "total": sum(counts.values()),
        "can_open": user.can_manage_rectifications and kind == Rating.MONTHLY,
        "period": f"{period:%Y-%m}" if period else "",
    }
