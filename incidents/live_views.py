"""The streams (server-sent events) of the room, the dashboard and the incident list.

The only async views: everything else stays a sync view. Each stream checks who
asks when it opens (the session, the person, the incident's visibility: a few
queries) and then holds no database connection; incidents/live.py checks again
on every event. A stream that cannot be served is a 503 with Retry-After: the
page keeps polling and tries again.
"""

from asgiref.sync import sync_to_async
from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core import live
from incidents import presence, selectors
from incidents.live import RoomWatcher, room_events
from incidents.models import Incident


def _who(request: HttpRequest) -> tuple[AbstractBaseUser | None, str, str]:
    """The signed-in person (None for nobody), their session key, and their time zone."""
    user = request.user
    if not (user.is_authenticated and user.is_active):
        return None, "", ""
    # The middleware activated the viewer's zone for this request; the stream renders after it.
    return user, request.session.session_key or "", str(timezone.get_current_timezone())


def _revision_seen(request: HttpRequest) -> int | None:
    """What the browser shows: the last event's id when it reconnects by itself, else ?rev= from the page."""
    seen = []
    for value in (request.headers.get("Last-Event-ID", ""), request.GET.get("rev", "")):
        if value.isascii() and value.isdigit() and len(value) < 12:
            seen.append(int(value))
    return max(seen) if seen else None


type Opened = tuple[AbstractBaseUser, str, str, Incident]


def _open_room(request: HttpRequest, number: int) -> Opened | HttpResponse:
    user, session_key, zone = _who(request)
    if user is None:
        return HttpResponse("Sign in to follow the room.", status=403)
    try:
        incident = selectors.incident_get(user=user, number=number)
    except Http404:
        return HttpResponse("No such incident", status=404)
    presence.mark_present(incident.pk, user.pk)
    return user, session_key, zone, incident


@never_cache
@require_GET
async def room_stream(request: HttpRequest, number: int) -> HttpResponse:
    """The room's changes as they happen: each event is what the poll would answer (room_delta)."""
    if not live.hub().healthy:
        return live.unavailable("Live updates are paused; the room polls meanwhile.")
    opened = await live.in_thread(_open_room, request, number)
    if isinstance(opened, HttpResponse):
        return opened
    user, session_key, zone, incident = opened
    slot = live.slots.take()
    if slot is None:
        return live.unavailable("Too many open streams on this server; the room polls meanwhile.")
    seen = _revision_seen(request)
    sent = incident.revision if seen is None else min(seen, incident.revision)
    watcher = RoomWatcher(request=request, user_id=user.pk, session_key=session_key, zone=zone, sent=sent)
    events = room_events(watcher, incident_id=incident.pk, revision=incident.revision)
    return live.stream_response(events, slot)


@never_cache
@require_GET
async def incidents_stream(request: HttpRequest) -> HttpResponse:
    """"Some incident changed", for the dashboard and the list: they fetch their own part again."""
    if not live.hub().healthy:
        return live.unavailable("Live updates are paused; the page polls meanwhile.")
    user, session_key, _ = await sync_to_async(_who)(request)
    if user is None:
        return HttpResponse("Sign in to follow the incidents.", status=403)
    slot = live.slots.take()
    if slot is None:
        return live.unavailable("Too many open streams on this server.")
    return live.stream_response(
        live.ping_stream(
            channels=["incidents"],
            session_key=session_key,
            name="incidents",
            still_allowed=lambda: live.session_and_person_ok(session_key, user.pk),
        ),
        slot,
    )
