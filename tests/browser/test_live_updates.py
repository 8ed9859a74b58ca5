"""Live without a reload, in real Chromium browsers, served by the ASGI server (server-sent events)."""

import time

import pytest

from incidents import services
from incidents.models import TimelineEntry
from roles.services import role_assign
from statuspage.services import statuspage_publish_update
from tests.factories import IncidentFactory, UserFactory, trained_commander

pytestmark = [pytest.mark.browser, pytest.mark.realclock, pytest.mark.django_db(transaction=True)]


def _stream_open(page, stream_id: str = "room-stream") -> None:
    page.locator(f"#{stream_id}[data-live='open']").wait_for(state="attached")


def test_a_second_browser_sees_a_note_in_under_a_second(page_for, live_server):
    alice, bob = UserFactory(first_name="Alice"), UserFactory(first_name="Bob")
    incident = IncidentFactory(declared_by=alice, title="[Outage]: Checkout fails")
    url = live_server.url + incident.get_absolute_url()
    page_a, page_b = page_for(alice), page_for(bob)
    page_a.goto(url)
    page_b.goto(url)
    _stream_open(page_b)

    page_a.fill("#entry-body", "Database not affected, just checked the logs")
    page_a.click("#entry-form button[type=submit]")
    page_a.locator("#timeline-entries .entry .body", has_text="Database not affected").wait_for()
    posted = time.monotonic()
    page_b.locator("#timeline-entries .entry .body", has_text="Database not affected").wait_for(timeout=5_000)
    seen_after = time.monotonic() - posted
    print(f"note reached the second browser after {seen_after:.2f} s")
    assert seen_after < 1.0
    # Pushed, not polled: the poll stayed quiet while the stream was open.
    assert page_b.locator("#room-stream[data-live='open']").count() == 1
    assert page_b.locator("#timeline-entries .entry .body", has_text="Database not affected").count() == 1


def test_a_new_incident_appears_on_an_open_dashboard(page_for, live_server):
    watcher = UserFactory(first_name="Dana")
    page = page_for(watcher)
    page.goto(live_server.url + "/")
    _stream_open(page, "incidents-stream")
    assert page.locator(".incident-card", has_text="Payments are down").count() == 0

    services.incident_declare(title="[Outage]: Payments are down", severity=1, declared_by=None)

    page.locator(".incident-card", has_text="Payments are down").wait_for(timeout=5_000)
    assert page.locator("#incidents-stream").count() == 1  # the stream was not replaced


def test_the_status_card_updates_after_a_public_update(page_for, live_server):
    commander = trained_commander(UserFactory(first_name="Ivy"))
    liaison, observer = UserFactory(first_name="Cory"), UserFactory(first_name="Olga")
    incident = IncidentFactory(declared_by=commander, title="Checkout fails")
    role_assign(incident=incident, role="incident_commander", user=commander, by=commander)
    role_assign(incident=incident, role="customer_liaison", user=liaison, by=commander)
    page = page_for(observer)
    page.goto(live_server.url + incident.get_absolute_url())
    _stream_open(page)
    card = page.locator("#room-public-update")
    assert "Post a public update" not in card.inner_text()

    statuspage_publish_update(
        incident=incident,
        by=liaison,
        title="Checkout is slow for some",
        status="identified",
        body="We found the cause and are fixing it.",
    )

    card.locator("strong", has_text="Checkout is slow for some").wait_for(timeout=5_000)
    assert "Identified" in card.inner_text()
    assert "We found the cause" in card.inner_text()
    assert "Post a public update" not in card.inner_text()


def test_resolve_and_reopen_redraw_the_roles_panel(page_for, live_server):
    commander = trained_commander(UserFactory(first_name="Ivy"))
    watcher = UserFactory(first_name="Walt")
    incident = IncidentFactory(declared_by=commander, severity=3)
    role_assign(incident=incident, role="incident_commander", user=commander, by=commander)
    page_ic, page_w = page_for(commander), page_for(watcher)
    url = live_server.url + incident.get_absolute_url()
    page_ic.goto(url)
    page_w.goto(url)
    _stream_open(page_w)
    release = page_ic.locator("#room-roles form[action*='/release/']")
    assert release.count() == 1

    page_ic.select_option("#status-select", "resolved")
    page_ic.click("#room-controls form[action$='/status/'] button[type=submit]")
    # The other browser's controls and roles panel follow; the IC's own panel is redrawn too.
    page_w.locator("#room-controls", has_text="Reopen incident").wait_for(timeout=5_000)
    page_ic.locator("#room-controls", has_text="Reopen incident").wait_for(timeout=5_000)
    release.wait_for(state="detached", timeout=5_000)

    services.incident_reopen(incident=incident, by=commander, reason="It is back")
    page_ic.locator("#room-roles form[action*='/release/']").wait_for(timeout=5_000)
    page_w.locator("#room-header .badge-status", has_text="Investigating").wait_for(timeout=5_000)
    page_w.locator("#room-controls", has_text="Reopen incident").wait_for(state="detached", timeout=5_000)


def test_a_killed_stream_falls_back_to_polling_and_resumes_without_losing_an_entry(page_for, live_server):
    writer, reader = UserFactory(), UserFactory(first_name="Rae")
    incident = IncidentFactory(declared_by=writer)
    page = page_for(reader)
    page.goto(live_server.url + incident.get_absolute_url())
    _stream_open(page)
    requests = []
    page.on("request", lambda r: requests.append(r.url) if "/poll/" in r.url else None)
    services.timeline_add(incident=incident, kind="note", body="before the cut", author=writer)
    page.locator(".entry .body", has_text="before the cut").wait_for(timeout=5_000)
    assert requests == []  # pushed: no poll while the stream is open

    # The stream is cut, and cannot come back for now.
    page.route("**/events/**", lambda route: route.abort())
    live_server.break_streams()
    page.locator("#room-stream[data-live='closed']").wait_for(state="attached")
    services.timeline_add(incident=incident, kind="note", body="during the cut", author=writer)
    page.locator(".entry .body", has_text="during the cut").wait_for(timeout=8_000)
    assert requests, "the room polled while the stream was down"

    # The stream comes back; entries written meanwhile and after arrive once each.
    page.unroute("**/events/**")
    services.timeline_add(incident=incident, kind="note", body="as it comes back", author=writer)
    _stream_open(page)
    polls_when_back = len(requests)
    services.timeline_add(incident=incident, kind="note", body="after the cut", author=writer)
    page.locator(".entry .body", has_text="after the cut").wait_for(timeout=5_000)
    for text in ("before the cut", "during the cut", "as it comes back", "after the cut"):
        assert page.locator(".entry .body", has_text=text).count() == 1, text
    page.wait_for_timeout(2_500)
    assert len(requests) == polls_when_back  # pushed again: the poll is quiet
    notes = TimelineEntry.objects.filter(incident=incident, kind="note").count()
    assert page.locator("#timeline-entries .entry.kind-note").count() == notes
