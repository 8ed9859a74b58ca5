"""The room's stream (server-sent events): what the poll would answer, pushed; checked on every event.

Each test drives the ASGI views in an event loop of its own, with the embedded
mode's hub (the cache read a few times a second), and makes its changes the way
the portal does, through the services, committed.
"""

import asyncio
import re

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.db.backends import utils as db_utils
from django.test import AsyncClient, Client

from comms.selectors import in_app_channel
from comms.services import Recipient, message_send
from core import live
from incidents import services
from roles.services import participant_let_out, role_assign
from tests.factories import IncidentFactory, UserFactory, trained_commander

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_stream_places_taken(monkeypatch):
    """Each test counts its own streams against LIVE_MAX_STREAMS.

    The count is per process, and the in-process servers of tests before these (the browser
    tests' live server, stopped with a page's stream still open) may leave places taken.
    """
    monkeypatch.setattr(live, "slots", live.StreamSlots())

WAIT = 5.0


class Stream:
    """An open stream's events, read with a deadline."""

    def __init__(self, response) -> None:
        assert response.status_code == 200, response.status_code
        assert response["Content-Type"].startswith("text/event-stream")
        self.response = response
        self.chunks = aiter(response.streaming_content)
        self.buffer = ""

    async def next_event(self, name: str, timeout: float = WAIT) -> dict:
        """The next event called `name` (skipping comments and others): {"id", "event", "data"}."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            while "\n\n" in self.buffer:
                block, self.buffer = self.buffer.split("\n\n", 1)
                fields = {"data": []}
                for line in block.split("\n"):
                    key, _, value = line.partition(": ")
                    if key == "data":
                        fields["data"].append(value)
                    elif key in ("id", "event"):
                        fields[key] = value
                if fields.get("event") == name:
                    return {**fields, "data": "\n".join(fields["data"])}
            chunk = await asyncio.wait_for(anext(self.chunks), max(0.01, deadline - loop.time()))
            self.buffer += chunk.decode() if isinstance(chunk, bytes) else chunk

    async def ended(self, timeout: float = WAIT) -> bool:
        try:
            while True:
                await asyncio.wait_for(anext(self.chunks), timeout)
        except StopAsyncIteration:
            return True

    async def close(self) -> None:
        await self.chunks.aclose()


async def _open(client: AsyncClient, number: int, **headers) -> Stream:
    return Stream(await client.get(f"/incidents/{number}/events/", headers=headers))


def signed_in(user) -> AsyncClient:
    """An async client with the session a sign-in made (the session store is the sync one)."""
    browser = Client()
    browser.force_login(user)
    client = AsyncClient()
    client.cookies["sessionid"] = browser.cookies["sessionid"].value
    return client


def run(scenario) -> None:
    async def main() -> None:
        try:
            await asyncio.wait_for(scenario(), 30)
        finally:
            # The thread the scenario's ORM calls ran in keeps a connection open, which
            # would hold the test database when the session drops it.
            await sync_to_async(connections.close_all)()

    asyncio.run(main())


def test_a_note_reaches_an_open_stream_as_the_polls_partials(live_settings):
    reader, writer = UserFactory(), UserFactory(first_name="Wanda")
    incident = IncidentFactory(declared_by=writer)
    incident.refresh_from_db()
    before = incident.revision

    reader_client = signed_in(reader)

    async def scenario():
        client = reader_client
        stream = await _open(client, incident.number)
        await asyncio.sleep(0.4)  # the hub has read the room's revision once
        entry = await sync_to_async(services.timeline_add)(
            incident=incident, kind="note", body="Database not affected", author=writer
        )
        event = await stream.next_event("delta")
        assert int(event["id"]) > before
        assert f'<article id="entry-{entry.pk}"' in event["data"]
        assert "Database not affected" in event["data"]
        # The poller is redrawn with the new revision: the fallback goes on from there.
        assert f"rev={event['id']}" in event["data"]
        # Not the author: no edit form, and no one else's CSRF token in it.
        assert "Edit or strike" not in event["data"]
        await stream.close()

    run(scenario)


def test_two_watchers_get_one_render_each_with_their_own_csrf_token(live_settings):
    writer, first, second = UserFactory(), UserFactory(), UserFactory()
    incident = IncidentFactory(declared_by=writer)
    services.timeline_add(incident=incident, kind="note", body="rollback?", author=writer)
    clients = [signed_in(first), signed_in(second)]

    async def scenario():
        streams = [await _open(client, incident.number) for client in clients]
        await asyncio.sleep(0.4)
        await sync_to_async(services.incident_set_deploy_freeze)(incident=incident, freeze=True, by=writer)
        events = [await stream.next_event("delta") for stream in streams]
        for event in events:
            assert "Deploy freeze" in event["data"]
        found = [set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', e["data"])) for e in events]
        # Each form carries a token, each watcher's page its own.
        assert all(found) and found[0] != found[1]
        for stream in streams:
            await stream.close()

    run(scenario)


def test_a_stream_that_reconnects_gets_what_it_missed(live_settings):
    reader, writer = UserFactory(), UserFactory()
    incident = IncidentFactory(declared_by=writer)
    incident.refresh_from_db()
    seen = incident.revision
    missed = [
        services.timeline_add(incident=incident, kind="note", body=f"while away {i}", author=writer)
        for i in range(3)
    ]

    reader_client = signed_in(reader)

    async def scenario():
        client = reader_client
        stream = await _open(client, incident.number, **{"Last-Event-ID": str(seen)})
        event = await stream.next_event("delta")
        for entry in missed:
            assert f'<article id="entry-{entry.pk}"' in event["data"]
        await stream.close()
        # The page's own revision (?rev=, for a stream the extension opens anew) works the same way.
        response = await client.get(f"/incidents/{incident.number}/events/", {"rev": seen})
        again = Stream(response)
        assert "while away 2" in (await again.next_event("delta"))["data"]
        await again.close()

    run(scenario)


def test_a_removed_participant_stops_receiving_at_once(live_settings):
    commander = trained_commander(UserFactory())
    guest = UserFactory(first_name="Gus")
    incident = IncidentFactory(declared_by=commander, is_security=True)
    role_assign(incident=incident, role="incident_commander", user=commander, by=commander)
    services.participant_add(incident=incident, user=guest, by=commander)

    guest_client = signed_in(guest)

    async def scenario():
        client = guest_client
        stream = await _open(client, incident.number)
        await asyncio.sleep(0.4)
        await sync_to_async(services.timeline_add)(
            incident=incident, kind="note", body="while Gus is in", author=commander
        )
        assert "while Gus is in" in (await stream.next_event("delta"))["data"]
        await sync_to_async(participant_let_out)(
            incident=incident, person=guest, by=commander, reason="not needed any more"
        )
        await sync_to_async(services.timeline_add)(
            incident=incident, kind="note", body="secret finding", author=commander
        )
        # Told to reload (the page then says what they may see: nothing), and nothing after.
        reload = await stream.next_event("reload")
        assert "secret finding" not in reload["data"]
        assert await stream.ended()
        # Opening it again is refused.
        assert (await client.get(f"/incidents/{incident.number}/events/")).status_code == 404

    run(scenario)


def test_signing_out_ends_the_stream(live_settings):
    reader = UserFactory()
    incident = IncidentFactory(declared_by=reader)
    browser = Client()
    browser.force_login(reader)
    session = browser.cookies["sessionid"].value

    async def scenario():
        client = AsyncClient()
        client.cookies["sessionid"] = session
        stream = await _open(client, incident.number)
        await asyncio.sleep(0.4)
        await sync_to_async(browser.post)("/accounts/logout/")
        await stream.next_event("reload")
        assert await stream.ended()

    run(scenario)


def test_an_idle_stream_costs_no_query(live_settings, monkeypatch):
    live_settings.LIVE_KEEPALIVE_SECONDS = 1
    reader = UserFactory()
    incident = IncidentFactory(declared_by=reader)
    queries = []
    execute = db_utils.CursorWrapper._execute

    def counting(self, sql, *args, **kwargs):
        queries.append(sql)
        return execute(self, sql, *args, **kwargs)

    reader_client = signed_in(reader)

    async def scenario():
        client = reader_client
        stream = await _open(client, incident.number)
        await asyncio.sleep(0.5)
        monkeypatch.setattr(db_utils.CursorWrapper, "_execute", counting)
        # Three keepalives and a dozen checks of the room's cached revision.
        deadline = asyncio.get_running_loop().time() + 3.2
        with pytest.raises(TimeoutError):
            await stream.next_event("delta", timeout=deadline - asyncio.get_running_loop().time())
        monkeypatch.setattr(db_utils.CursorWrapper, "_execute", execute)
        assert queries == []
        await stream.close()

    run(scenario)


def test_a_stranger_cannot_open_a_restricted_rooms_stream(live_settings):
    owner, stranger = UserFactory(), UserFactory()
    incident = IncidentFactory(declared_by=owner, is_security=True)

    stranger_client = signed_in(stranger)

    async def scenario():
        assert (await AsyncClient().get(f"/incidents/{incident.number}/events/")).status_code == 403
        assert (await stranger_client.get(f"/incidents/{incident.number}/events/")).status_code == 404

    run(scenario)


@pytest.fixture
def live_settings(settings):
    settings.LIVE_CACHE_CHECK_MS = 100
    return settings


def test_the_incidents_stream_says_when_any_incident_changes(live_settings):
    reader = UserFactory()
    reader_client = signed_in(reader)

    async def scenario():
        stream = Stream(await reader_client.get("/incidents/events/"))
        await asyncio.sleep(0.4)
        declare = sync_to_async(services.incident_declare)
        await declare(title="Payments are down", severity=1, declared_by=None)
        assert (await stream.next_event("incidents"))["data"]
        await stream.close()

    run(scenario)


def test_past_the_stream_limit_a_room_is_told_to_poll_and_a_closed_stream_frees_its_place(live_settings):
    live_settings.LIVE_MAX_STREAMS = 1
    reader = UserFactory()
    incident = IncidentFactory(declared_by=reader)
    reader_client = signed_in(reader)

    async def scenario():
        first = await _open(reader_client, incident.number)
        refused = await reader_client.get(f"/incidents/{incident.number}/events/")
        assert refused.status_code == 503 and refused["Retry-After"]
        # The server closes the response when the stream ends (or the browser goes).
        await first.close()
        await sync_to_async(first.response.close)()
        again = await _open(reader_client, incident.number)
        await again.close()
        await sync_to_async(again.response.close)()
        assert live.slots.open == 0

    run(scenario)


def test_the_bell_rings_when_a_notification_arrives(live_settings):
    reader = UserFactory()
    reader_client = signed_in(reader)
    bell = [Recipient(channel=in_app_channel(), user=reader)]

    async def scenario():
        stream = Stream(await reader_client.get("/comms/notifications/events/"))
        await asyncio.sleep(0.4)
        send = sync_to_async(message_send)
        await send(kind="handover_prompt", subject="Time to hand over", body="x", recipients=bell)
        assert (await stream.next_event("bell"))["data"]
        await stream.close()

    run(scenario)
