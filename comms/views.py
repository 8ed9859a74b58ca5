from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from comms import forms, permissions, selectors, services
from comms.services import CommsError
from core import live


@never_cache
@require_GET
def notifications_bell(request: HttpRequest) -> HttpResponse:
    """The bell's count, polled by htmx from the top bar of every page.

    A session that ended gets a 204 (htmx swaps nothing) rather than a login
    page squeezed into the bell.
    """
    if not request.user.is_authenticated:
        return HttpResponse(status=204)
    count = selectors.unread_notification_count(request.user)
    return render(request, "comms/notifications.html#bell", {"unread": count})


def _bell_watcher(request: HttpRequest) -> tuple[int, str] | None:
    user = request.user
    if not (user.is_authenticated and user.is_active):
        return None
    return user.pk, request.session.session_key or ""


@never_cache
@require_GET
async def notifications_events(request: HttpRequest) -> HttpResponse:
    """The bell's stream (server-sent events): "bell" when a notification arrives, and the page
    fetches the count (notifications_bell). The bell polls only while this is down."""
    if not live.hub().healthy:
        return live.unavailable("Live updates are paused; the bell polls meanwhile.")
    watcher = await sync_to_async(_bell_watcher)(request)
    if watcher is None:
        return HttpResponse(status=204)  # signed out: EventSource stops on a 204
    user_id, session_key = watcher
    slot = live.slots.take()
    if slot is None:
        return live.unavailable("Too many open streams on this server.")
    return live.stream_response(
        live.ping_stream(
            channels=[f"bell:{user_id}"],
            session_key=session_key,
            name="bell",
            still_allowed=lambda: live.session_and_person_ok(session_key, user_id),
        ),
        slot,
    )


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    qs = selectors.notifications_for(request.user)
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    unread = selectors.unread_notification_count(request.user)
    return render(
        request,
        "comms/notifications.html",
        {"page": page, "unread": unread, "can_use_outbox": permissions.may_use_outbox(request.user)},
    )


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    """Mark one notification (`id`) or all of them read."""
    raw = request.POST.get("id", "")
    if raw and not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        return HttpResponse("id must be a number", status=400)
    services.notifications_mark_read(user=request.user, delivery_ids=[int(raw)] if raw else None)
    if request.htmx and raw:
        notification = selectors.notifications_for(request.user).filter(pk=int(raw)).first()
        if notification is None:
            raise Http404("No such notification")
        unread = selectors.unread_notification_count(request.user)
        return render(
            request,
            "comms/notifications.html#notification",
            {"notification": notification, "unread": unread, "oob_bell": True},
        )
    return redirect("notifications")


def _outbox_user(request: HttpRequest) -> None:
    if not permissions.may_use_outbox(request.user):
        raise PermissionDenied("The outbox is for admins and incident commanders.")


@login_required
@require_GET
def outbox(request: HttpRequest) -> HttpResponse:
    _outbox_user(request)
    form = forms.OutboxFilterForm(request.GET)
    template = "comms/outbox.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    if not form.is_valid():
        # 422: htmx swaps it in (see base.html), so the message shows where the results were.
        return render(request, template, {"form": form, "page": None}, status=422)
    qs = selectors.outbox_messages(
        user=request.user,
        incident_number=form.cleaned_data["incident"],
        state=form.cleaned_data["state"],
    )
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    return render(request, template, {"form": form, "page": page})


@login_required
@require_GET
def outbox_message(request: HttpRequest, message_id: int) -> HttpResponse:
    _outbox_user(request)
    message = selectors.outbox_message_get(user=request.user, message_id=message_id)
    if message is None:
        raise Http404("No such message")
    form = forms.DeliveryStateForm(request.GET)
    state = form.cleaned_data["state"] if form.is_valid() else ""
    deliveries = selectors.message_deliveries(message=message, state=state)
    page = Paginator(deliveries, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "comms/outbox_message.html",
        {"message": message, "page": page, "form": form},
        status=200 if form.is_valid() else 400,
    )


@login_required
@require_POST
def delivery_resend(request: HttpRequest, delivery_id: int) -> HttpResponse:
    _outbox_user(request)
    delivery = selectors.delivery_get_for_outbox(user=request.user, delivery_id=delivery_id)
    if delivery is None:
        raise Http404("No such delivery")
    try:
        delivery = services.delivery_resend(delivery=delivery, by=request.user)
    except CommsError as error:
        if request.htmx:
            return HttpResponse(str(error), status=409)
        messages.error(request, str(error))
        return redirect("outbox_message", message_id=delivery.message_id)
    if request.htmx:
        return render(request, "comms/outbox_message.html#delivery", {"delivery": delivery})
    return redirect("outbox_message", message_id=delivery.message_id)
