"""The service-order queue (点单派单): record, dispatch, accept, complete, rate, cancel."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from volunteers.forms import (
    DispatchForm,
    NoteForm,
    OrderFilterForm,
    OrderForm,
    RateForm,
    ReasonForm,
)
from volunteers.models import ServiceOrder, mask_name, mask_phone
from volunteers.services import orders as service
from volunteers.views.teams import MAX_ID, PAGE_SIZE, require_reader

Status = ServiceOrder.Status


def get_order_for_user(user, pk: int) -> ServiceOrder:
    require_reader(user)
    if pk > MAX_ID:
        raise Http404("no such order")
    return get_object_or_404(
        ServiceOrder.objects.visible_to(user).select_related("unit", "team__leader", "created_by"),
        pk=pk,
    )


@login_required
def order_list(request):
    user = request.user
    require_reader(user)
    form = OrderFilterForm(request.GET)
    today = timezone.localdate()
    orders = ServiceOrder.objects.visible_to(user).select_related("unit", "team")
    valid = form.is_valid()
    status = form.cleaned_data["status"] if valid else ""
    if status == "OVERDUE":
        orders = orders.overdue_on(today)
    elif status:
        orders = orders.filter(status=status)
    if valid and form.cleaned_data["category"]:
        orders = orders.filter(category=form.cleaned_data["category"])
    page = Paginator(orders.order_by("-created_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    for order in page.object_list:
        order.overdue = order.is_overdue_on(today)
    return render(
        request,
        "volunteers/order_list.html",
        {"form": form, "page": page, "can_take": user.can_take_orders},
    )


@login_required
@require_http_methods(["GET", "POST"])
def order_create(request):
    user = request.user
    require_reader(user)
    if not user.can_take_orders:
        raise PermissionDenied
    initial = {"unit": user.unit.code} if user.unit and user.unit.level >= 5 else {}
    form = OrderForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            order = service.order_create(user=user, **data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("已登记服务订单 %(n)s。") % {"n": order.number})
            return redirect("volunteers:order_detail", pk=order.pk)
    return render(
        request,
        "volunteers/order_form.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def order_detail(request, pk: int):
    user = request.user
    order = get_order_for_user(user, pk)
    today = timezone.localdate()
    may_work = service.may_work(user, order)
    full = service.shows_resident(user)
    return render(
        request,
        "volunteers/order_detail.html",
        {
            "order": order,
            "overdue": order.is_overdue_on(today),
            "steps": order.steps.select_related("actor"),
            "dispatch_form": DispatchForm(user=user, order=order)
            if user.can_dispatch_orders and order.status == Status.REQUESTED
            else None,
            "can_accept": may_work and order.status == Status.DISPATCHED,
            "can_complete": may_work and order.status == Status.ACCEPTED,
            "note_form": NoteForm(),
            "rate_form": RateForm()
            if user.can_take_orders and order.status == Status.DONE and order.satisfaction is None
            else None,
            "cancel_form": ReasonForm()
            if user.can_dispatch_orders and order.status in ServiceOrder.OPEN_STATUSES
            else None,
            "resident_name": order.resident_name if full else mask_name(order.resident_name),
            "resident_phone": order.resident_phone if full else mask_phone(order.resident_phone),
        },
    )


ACTIONS = ("dispatch", "accept", "complete", "rate", "cancel")


@login_required
@require_POST
def order_action(request, pk: int, action: str):
    user = request.user
    order = get_order_for_user(user, pk)
    if action not in ACTIONS:
        raise Http404("no such action")
    try:
        if action == "dispatch":
            if not user.can_dispatch_orders:
                raise PermissionDenied
            form = DispatchForm(request.POST, user=user, order=order)
            if not form.is_valid():
                raise ValidationError([e for errors in form.errors.values() for e in errors])
            order = service.order_dispatch(user=user, order=order, **form.cleaned_data)
            done = _("订单 %(n)s 已派单给%(unit)s · %(team)s，完成期限 %(deadline)s。") % {
                "n": order.number,
                "unit": order.team.unit.name,
                "team": order.team.name,
                "deadline": f"{order.deadline:%Y-%m-%d}",
            }
        elif action == "accept":
            order = service.order_accept(user=user, order=order)
            done = _("已接单：订单 %(n)s，请在 %(deadline)s 前完成。") % {
                "n": order.number,
                "deadline": f"{order.deadline:%Y-%m-%d}" if order.deadline else "—",
            }
        elif action == "complete":
            form = NoteForm(request.POST)
            note = form.cleaned_data["note"] if form.is_valid() else ""
            order = service.order_complete(user=user, order=order, note=note)
            done = _("订单 %(n)s 已办结，请回访居民并评价。") % {"n": order.number}
        elif action == "rate":
            form = RateForm(request.POST)
            if not form.is_valid():
                raise ValidationError(_("请选择 1 到 5 分的满意度。"))
            order = service.order_rate(user=user, order=order, **form.cleaned_data)
            done = _("订单 %(n)s 已评价 %(score)s 分。") % {
                "n": order.number,
                "score": order.satisfaction,
            }
        else:
            form = ReasonForm(request.POST)
            if not form.is_valid():
                raise ValidationError(_("请填写取消原因。"))
            order = service.order_cancel(user=user, order=order, reason=form.cleaned_data["reason"])
            done = _("订单 %(n)s 已取消。") % {"n": order.number}
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    return redirect("volunteers:order_detail", pk=order.pk)
