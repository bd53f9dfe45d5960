"""Event pages: report, the township's queue with filters, an event with its timeline and
the actions its status allows."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from grids.access import get_event_for_user, require_reader
from grids.forms import DispatchForm, EventFilterForm, EventForm, NoteForm, PhotoForm
from grids.masking import shows_full
from grids.models import Grid, GridEvent, GridEventPhoto
from grids.services import events as service

Status = GridEvent.Status
PAGE_SIZE = 50
A = service.Action
STEP_ACTIONS = (A.ACCEPTED, A.DISPATCHED, A.HANDLED, A.FEEDBACK, A.CLOSED, A.RETURNED)


def event_queue(user, form: EventFilterForm):
    events = GridEvent.objects.visible_to(user).select_related("grid")
    if not form.is_valid():
        return events.none()
    data = form.cleaned_data
    if data["status"]:
        events = events.filter(status=data["status"])
    if data["category"]:
        events = events.filter(category=data["category"])
    if data["overdue"]:
        events = events.overdue_on(timezone.localdate())
    if q := data["q"].strip():
        events = events.filter(Q(number=q) | Q(grid__code=q))
    return events.order_by("-reported_at", "-id")


@login_required
def event_list(request):
    user = request.user
    require_reader(user)
    form = EventFilterForm(request.GET)
    page = Paginator(event_queue(user, form), PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    for event in page.object_list:
        event.overdue = event.is_overdue_on(today)
    return render(
        request,
        "grids/event_list.html",
        {"form": form, "page": page, "may_report": user.can_report_grid_events},
        status=200 if form.is_valid() else 400,
    )


@login_required
@require_http_methods(["GET", "POST"])
def event_create(request):
    user = request.user
    require_reader(user)
    if not user.can_report_grid_events:
        raise PermissionDenied
    grids = Grid.objects.visible_to(user).active().select_related("unit").order_by("code")
    form = EventForm(request.POST or None, request.FILES or None, grids=grids)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            event = service.event_report(
                user=user,
                grid=data["grid"],
                category=data["category"],
                description=data["description"],
                location=data["location"],
                photos=[data["photo"]] if data.get("photo") else [],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("事件已上报，编号 %(n)s。") % {"n": event.number})
            return redirect("grids:event_detail", number=event.number)
    return render(
        request,
        "grids/event_form.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


def available_actions(user, event: GridEvent) -> list[str]:
    """The workflow actions the page offers `user` now (the service checks again)."""
    if user.is_read_only:
        return []
    actions = []
    handles = user.can_handle_grid_events
    if handles and event.status == Status.REPORTED:
        actions += [A.ACCEPTED, A.RETURNED]
    if handles and event.status == Status.ACCEPTED:
        actions += [A.DISPATCHED, A.RETURNED]
    if event.status == Status.DISPATCHED and service.may_handle(user, event):
        actions.append(A.HANDLED)
    if event.status == Status.HANDLED and service.may_feedback(user, event):
        actions.append(A.FEEDBACK)
    if handles and event.status == Status.FEEDBACK:
        actions.append(A.CLOSED)
    return [str(a) for a in actions]


@login_required
def event_detail(request, number):
    user = request.user
    return _detail(request, get_event_for_user(user, number))


@login_required
def event_photo(request, number, pk):
    """One of the event's photos, to whoever may read the event."""
    event = get_event_for_user(request.user, number)
    photo = get_object_or_404(GridEventPhoto, event=event, pk=pk)
    return FileResponse(photo.file.open("rb"), filename=photo.original_name)


def may_add_photo(user, event: GridEvent) -> bool:
    """Whether the page offers the photo form (event_photo_add checks again)."""
    return (
        not user.is_read_only
        and event.is_open
        and (user.can_handle_grid_events or service.may_feedback(user, event))
    )


def _detail(
    request, event, *, failed=None, dispatch_form=None, typed="", errors=(), photo_form=None
):
    """The event page; after a refused step or photo, with its errors and what was typed."""
    user = request.user
    refused = failed is not None or photo_form is not None
    if dispatch_form is None:
        dispatch_form = DispatchForm(
            initial={"deadline": timezone.localdate() + timedelta(days=7)}, event=event, user=user
        )
    return render(
        request,
        "grids/event_detail.html",
        {
            "event": event,
            "steps": event.steps.all(),
            "photos": event.photos.all(),
            "actions": available_actions(user, event),
            "extra_actions": [
                {"label": a.label, "url": a.url(event)}
                for a in service.event_actions.for_event(event, user)
            ],
            "overdue": event.is_overdue_on(timezone.localdate()),
            "full": shows_full(user, detail=True),
            "dispatch_form": dispatch_form,
            "failed_action": failed,
            "typed_note": typed,
            "action_errors": errors,
            "may_add_photo": may_add_photo(user, event),
            "photo_form": photo_form or PhotoForm(),
            "photos_max": service.PHOTOS_MAX,
        },
        status=400 if refused else 200,
    )


@login_required
@require_POST
def event_photo_add(request, number):
    user = request.user
    event = get_event_for_user(user, number)
    if user.is_read_only:
        raise PermissionDenied
    form = PhotoForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            service.event_photo_add(event=event, user=user, upload=form.cleaned_data["photo"])
        except ValidationError as error:
            form.add_error(None, error)
    if form.errors:
        return _detail(request, event, photo_form=form)
    messages.success(request, _("照片已添加。"))
    return redirect("grids:event_detail", number=event.number)


@login_required
@require_POST
def event_action(request, number, action):
    user = request.user
    event = get_event_for_user(user, number)
    if action not in STEP_ACTIONS:
        raise Http404("no such action")
    if user.is_read_only:
        raise PermissionDenied
    note = NoteForm(request.POST)
    text = note.cleaned_data["note"] if note.is_valid() else request.POST.get("note", "")
    if action == A.DISPATCHED:
        form = DispatchForm(request.POST, event=event, user=user)
        if not form.is_valid():
            return _detail(request, event, failed=action, dispatch_form=form)
        data = form.cleaned_data
        try:
            service.event_dispatch(
                event=event,
                user=user,
                deadline=data["deadline"],
                assignee_unit=data["assignee_unit"],
                assignee_user=data["assignee_user"],
                note=data["note"],
            )
        except ValidationError as error:
            form.add_error(None, error)
            return _detail(request, event, failed=action, dispatch_form=form)
    else:
        handlers = {
            A.ACCEPTED: lambda: service.event_accept(event=event, user=user, note=text),
            A.HANDLED: lambda: service.event_handle(event=event, user=user, result=text),
            A.FEEDBACK: lambda: service.event_feedback(event=event, user=user, note=text),
            A.CLOSED: lambda: service.event_close(event=event, user=user, note=text),
            A.RETURNED: lambda: service.event_return(event=event, user=user, reason=text),
        }
        try:
            if not note.is_valid():
                raise ValidationError([e for errs in note.errors.values() for e in errs])
            handlers[action]()
        except ValidationError as error:
            return _detail(request, event, failed=action, typed=text, errors=error.messages)
    messages.success(request, _("已%(action)s。") % {"action": A(action).label})
    return redirect("grids:event_detail", number=event.number)
