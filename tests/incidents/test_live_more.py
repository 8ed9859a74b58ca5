"""More of the live streams: the incident list's, and the ping streams' (dashboard, list, bell) cut-off
when a person signs out or is deactivated. Driven like tests/incidents/test_room_stream.py."""

import asyncio
import re

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import AsyncClient, Client

from incidents import services
from tests.factories import IncidentFactory, UserFactory
from tests.incidents.test_room_stream import Stream, run, signed_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_settings(settings):
    settings.LIVE_CACHE_CHECK_MS = 100
    return settings


def _results(client: Client, query: str = "") -> str:
    """What the list's results fetch again on an "incidents" event (hx-get, as htmx sends it)."""
    response = client.get(f"/incidents/{query}", headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode()


def test_the_incident_list_is_told_of_a_new_incident_and_fetches_it_with_its_filters(live_settings):
    reader = UserFactory()
    browser = Client()
    browser.force_login(reader)
    page = browser.get("/incidents/", {"severity": "1"}).content.decode()
    # The page listens to the incidents stream and refetches its results, filters kept, on each event.
    assert re.search(r'sse-connect="/incidents/events/"', page)
    results_tag = re.search(r'<div id="results"[^>]*>', page).group(0)
    assert 'hx-trigger="sse:incidents, every 30s"' in results_tag
    assert 'hx-get="/incidents/?severity=1"' in results_tag
    assert "Payments are down" not in _results(browser, "?severity=1")

    stream_client = signed_in(reader)

    async def scenario():
        stream = Stream(await stream_client.get("/incidents/events/"))
        await asyncio.sleep(0.4)  # the hub has read the channel once
        declare = sync_to_async(services.incident_declare)
        await declare(title="Payments are down", severity=1, declared_by=None)
        await declare(title="A typo on the about page", severity=4, declared_by=None)
        assert (await stream.next_event("incidents"))["data"]
        await stream.close()

    run(scenario)
    results = _results(browser, "?severity=1")
    assert "Payments are down" in results
    assert "A typo on the about page" not in results


def test_a_restricted_incident_pings_an_outsider_with_nothing_about_it(live_settings):
    owner, outsider = UserFactory(), UserFactory()
    browser = Client()
    browser.force_login(outsider)
    outsider_client = signed_in(outsider)
    found = {}

    async def scenario():
        stream = Stream(await outsider_client.get("/incidents/events/"))
        await asyncio.sleep(0.4)
        incident = await sync_to_async(IncidentFactory)(
            declared_by=owner, is_security=True, title="Leaked credentials in build logs"
        )
        await sync_to_async(services.timeline_add)(
            incident=incident, kind="note", body="rotated the keys", author=owner
        )
        found["event"] = await stream.next_event("incidents")
        found["number"] = incident.number
        await stream.close()

    run(scenario)
    # The event says only that something changed (an opaque stamp); the list asks its own view.
    data = found["event"]["data"]
    assert re.fullmatch(r"[0-9a-f]{32}", data)
    assert "Leaked" not in _results(browser)
    assert f"INC-{found['number']}" not in _results(browser)


@pytest.mark.parametrize("path", ["/incidents/events/", "/comms/notifications/events/"])
def test_signing_out_ends_a_ping_stream(live_settings, path):
    reader = UserFactory()
    browser = Client()
    browser.force_login(reader)
    session = browser.cookies["sessionid"].value

    async def scenario():
        client = AsyncClient()
        client.cookies["sessionid"] = session
        stream = Stream(await client.get(path))
        await asyncio.sleep(0.4)
        await sync_to_async(browser.post)("/accounts/logout/")
        # At once, with no incident or notification needed to notice it.
        assert (await stream.next_event("reload", timeout=3))["data"] == "signed out"
        assert await stream.ended()
        # Opening it again: refused (the dashboard's), or "stop" (the bell's 204).
        again = await client.get(path)
        assert again.status_code in (403, 204)

    run(scenario)


def test_a_deactivated_person_loses_the_incidents_stream_at_the_next_change(live_settings):
    reader = UserFactory()
    reader_client = signed_in(reader)

    async def scenario():
        stream = Stream(await reader_client.get("/incidents/events/"))
        await asyncio.sleep(0.4)
        await sync_to_async(get_user_model().objects.filter(pk=reader.pk).update)(is_active=False)
        await sync_to_async(services.incident_declare)(title="Disk full", severity=2, declared_by=None)
        reload = await stream.next_event("reload")
        assert "Disk full" not in reload["data"]
        assert await stream.ended()

    run(scenario)


def test_the_incidents_stream_is_for_signed_in_people_only(live_settings):
    async def scenario():
        assert (await AsyncClient().get("/incidents/events/")).status_code == 403

    run(scenario)
