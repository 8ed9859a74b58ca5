"""The live room over server-sent events: what changed, pushed as the poll's out-of-band partials.

One RoomBroadcast per watched incident and process holds that room's open
streams. When the incident's revision moves (core/live.py tells it, once per
room), it reads the incident once, checks every watcher at once (their session
still signed in, their account active, and for a restricted incident that they
still take part: two queries and a cache read, whatever the number of
watchers), and renders the delta with incidents.views.room_delta: once per
revision seen and time zone when nothing in it depends on who looks (each
watcher's own CSRF token is put in), else once per watcher. A watcher who may
no longer see the incident, or whose session ended, gets "reload" and its
stream ends: the reload shows them what they may see now.

Each event's id is the revision it brings the room to, so that a browser that
reconnects (Last-Event-ID, or ?rev= from the page) gets exactly what it missed.
"""

import asyncio
import logging
import re
import zoneinfo
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.utils import timezone

from core import live
from incidents import presence, selectors, views
from incidents.models import Incident

logger = logging.getLogger(__name__)

# How an answer asks the browser to reload (htmx's HX-Refresh: too far behind to patch).
RELOAD = "reload"
_CSRF_INPUT = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')


@dataclass(eq=False)
class RoomWatcher:
    """One open stream: who watches, and the revision their browser shows."""

    request: HttpRequest
    user_id: int
    session_key: str
    zone: str
    sent: int
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)


@dataclass
class _Shared:
    html: str
    authors: set


def _with_own_token(html: str, request: HttpRequest) -> str:
    token = get_token(request)
    return _CSRF_INPUT.sub(lambda m: m.group(1) + token + m.group(2), html)


def render_deltas(incident_id: int, watchers: list[RoomWatcher]) -> list[tuple[RoomWatcher, str, int]]:
    """For each watcher behind the incident's revision: (watcher, the event to send, its revision).

    Sync (the ORM and templates): run in a thread by the broadcaster.
    """
    incident = Incident.objects.select_related("declared_by").filter(pk=incident_id).first()
    if incident is None:
        return [(w, live.event(RELOAD, "gone"), w.sent) for w in watchers]
    behind = [w for w in watchers if w.sent < incident.revision]
    if not behind:
        return []
    # On every event, again: still signed in, still active, still allowed to see it.
    signed_in = live.sessions_alive(w.session_key for w in behind)
    people = get_user_model().objects.filter(pk__in={w.user_id for w in behind})
    allowed = {person.pk: person for person in selectors.who_can_see(incident=incident, people=people)}
    results: list[tuple[RoomWatcher, str, int]] = []
    shared: dict[tuple[int, str], _Shared] = {}
    for watcher in behind:
        person = allowed.get(watcher.user_id)
        if person is None or watcher.session_key not in signed_in:
            results.append((watcher, live.event(RELOAD, "no longer allowed"), watcher.sent))
            continue
        watcher.request.user = person
        key = (watcher.sent, watcher.zone)
        same = shared.get(key)
        if same is not None and person.pk not in same.authors:
            html = _with_own_token(same.html, watcher.request)
        else:
            with timezone.override(zoneinfo.ZoneInfo(watcher.zone)):
                response = views.room_delta(watcher.request, incident, watcher.sent)
            if response.get("HX-Refresh"):
                results.append((watcher, live.event(RELOAD, "too far behind"), watcher.sent))
                continue
            html = response.content.decode()
            authors = getattr(response, "authors", None)
            if key not in shared and authors is not None and not response.drawn_per_viewer:
                if person.pk not in authors:
                    shared[key] = _Shared(html=html, authors=authors)
        results.append((watcher, live.event("delta", html, event_id=incident.revision), incident.revision))
    return results


class RoomBroadcast:
    """The open streams of one room in this process, woken once per change of its revision."""

    def __init__(self, incident_id: int) -> None:
        self.incident_id = incident_id
        self.watchers: set[RoomWatcher] = set()
        self.subscription = live.hub().subscribe([f"room:{incident_id}"])
        self._behind = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"room-{incident_id}")

    def join(self, watcher: RoomWatcher, *, revision: int) -> None:
        self.watchers.add(watcher)
        if watcher.sent < revision:
            self._behind.set()  # it reconnected behind: catch it up now

    def leave(self, watcher: RoomWatcher) -> None:
        self.watchers.discard(watcher)
        if not self.watchers:
            self.close()

    def close(self) -> None:
        _rooms.pop(self.incident_id, None)
        self.subscription.close()
        self._task.cancel()

    async def _next_change(self) -> int | None:
        """Wait for news; the revision it announces (None when not known: read the database)."""
        waiting = [
            asyncio.ensure_future(self.subscription.wait(3600)),
            asyncio.ensure_future(self._behind.wait()),
        ]
        try:
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waiting:
                task.cancel()
        behind = self._behind.is_set()
        self._behind.clear()
        changed = waiting[0].result() if waiting[0].done() and not waiting[0].cancelled() else {}
        announced = changed.get(f"room:{self.incident_id}", {}).get("rev")
        return None if behind or not isinstance(announced, int) else announced

    async def _run(self) -> None:
        try:
            await self._serve()
        finally:
            if _rooms.get(self.incident_id) is self:
                del _rooms[self.incident_id]
            self.subscription.close()

    async def _serve(self) -> None:
        while True:
            announced = await self._next_change()
            if self.subscription.broken:
                # The hub lost Redis: end every stream; the browsers poll and come back.
                for watcher in list(self.watchers):
                    watcher.queue.put_nowait(None)
                return
            watchers = list(self.watchers)
            if announced is not None:
                # Nobody is behind what was announced: no need to read anything.
                watchers = [w for w in watchers if w.sent < announced]
            if not watchers:
                continue
            try:
                results = await live.in_thread(render_deltas, self.incident_id, watchers)
            except Exception:  # the database down (or a bug): the browsers poll and reconnect
                logger.exception("live room %s: could not draw the changes", self.incident_id)
                for watcher in watchers:
                    watcher.queue.put_nowait(None)
                continue
            for watcher, message, revision in results:
                watcher.sent = revision
                watcher.queue.put_nowait(message)


_rooms: dict[int, RoomBroadcast] = {}


def room(incident_id: int) -> RoomBroadcast:
    found = _rooms.get(incident_id)
    if found is None or found._task.done() or found._task.get_loop() is not asyncio.get_running_loop():
        found = _rooms[incident_id] = RoomBroadcast(incident_id)
    return found


async def room_events(watcher: RoomWatcher, *, incident_id: int, revision: int):
    """The stream of one browser in one room."""
    broadcast = room(incident_id)
    broadcast.join(watcher, revision=revision)
    # A change between the stream's look at the database and joining: the cache knows (no query).
    announced = (await live.in_thread(live.latest, f"room:{incident_id}")).get("rev")
    if isinstance(announced, int) and announced > watcher.sent:
        broadcast.join(watcher, revision=announced)
    session_end = live.hub().subscribe([live.session_channel(watcher.session_key)])
    try:
        yield "retry: 2000\n\n"
        yield live.comment(f"watching from revision {watcher.sent}")
        while True:
            waiting = [
                asyncio.ensure_future(watcher.queue.get()),
                asyncio.ensure_future(session_end.wait(3600)),
            ]
            try:
                done, _ = await asyncio.wait(
                    waiting, timeout=settings.LIVE_KEEPALIVE_SECONDS, return_when=asyncio.FIRST_COMPLETED
                )
            finally:  # also when the browser went away and the stream is closed under us
                for task in waiting:
                    task.cancel()
            if not done:
                # Still here: "who has the room open" (a cache write, no query).
                await live.in_thread(presence.mark_present, incident_id, watcher.user_id)
                yield live.comment("keepalive")
                continue
            if session_end.broken:
                return
            if waiting[1] in done and waiting[0] not in done:
                # Its session ended somewhere (a sign-out): make sure it is this one's.
                if not await live.in_thread(live.sessions_alive, [watcher.session_key]):
                    yield live.event(RELOAD, "signed out")
                    return
                continue
            message = waiting[0].result()
            if message is None:
                return
            yield message
            if message.startswith(f"event: {RELOAD}"):
                return
    finally:
        session_end.close()
        broadcast.leave(watcher)
