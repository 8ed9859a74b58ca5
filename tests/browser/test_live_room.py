"""Two responders in the same incident room, in two real Chromium browsers."""

import time

import pytest

from incidents.models import Incident, TimelineEntry
from tests.factories import IncidentFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.realclock, pytest.mark.django_db(transaction=True)]


def test_it_shows_each_others_notes_and_status_without_reload(page_for, live_server):
    alice = UserFactory(first_name="Alice", last_name="Adams")
    bob = UserFactory(first_name="Bob", last_name="Brown")
    incident = IncidentFactory(declared_by=alice, title="[Outage]: Checkout fails")
    url = live_server.url + incident.get_absolute_url()

    page_a, page_b = page_for(alice), page_for(bob)
    page_a.goto(url)
    page_b.goto(url)
    assert page_b.locator("#room-header h1").inner_text() == "[Outage]: Checkout fails"

    note_in_a = page_a.locator("#timeline-entries .entry .body", has_text="Database not affected")
    note_in_b = page_b.locator("#timeline-entries .entry .body", has_text="Database not affected")
    page_a.fill("#entry-body", "Database not affected, just checked the logs")
    page_a.click("#entry-form button[type=submit]")
    # Alice's own answer shows it at once and empties the form.
    note_in_a.wait_for()
    assert page_a.input_value("#entry-body") == ""
    posted = time.monotonic()

    # Bob sees it through the poll, within a couple of seconds, without a reload.
    note_in_b.wait_for(timeout=5_000)
    seen_after = time.monotonic() - posted
    assert note_in_b.count() == 1
    print(f"note reached the second browser after {seen_after:.2f} s")

    # Bob moves the incident on; Alice's header changes in place.
    page_b.select_option("#status-select", "investigating")
    page_b.click("#room-controls form[action$='/status/'] button[type=submit]")
    page_a.locator("#room-header .badge-status", has_text="Investigating").wait_for(timeout=5_000)

    # The entry appears once in each browser, even with polls and posts racing.
    page_a.wait_for_timeout(2_500)
    assert note_in_a.count() == 1
    assert note_in_b.count() == 1
    incident.refresh_from_db()
    assert incident.status == Incident.Status.INVESTIGATING
    notes = TimelineEntry.objects.filter(incident=incident, body__startswith="Database not affected")
    assert notes.count() == 1


def test_it_refuses_a_forbidden_transition_with_the_reason_in_the_form(page_for, live_server):
    ic = UserFactory()
    incident = IncidentFactory(declared_by=ic, severity=1, rollback_considered="No")
    page = page_for(ic)
    page.goto(live_server.url + incident.get_absolute_url())

    page.select_option("#status-select", "resolved")
    page.click("#room-controls form[action$='/status/'] button[type=submit]")
    page.locator("#room-controls .error", has_text="verification step").wait_for()
    incident.refresh_from_db()
    assert incident.status == Incident.Status.TRIAGE


def test_it_shows_a_script_tag_in_a_note_as_text(page_for, live_server):
    user = UserFactory()
    incident = IncidentFactory(declared_by=user)
    page = page_for(user)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(live_server.url + incident.get_absolute_url())
    page.fill("#entry-body", "<script>alert('x')</script> look at this")
    page.click("#entry-form button[type=submit]")
    page.locator("#timeline-entries .entry .body p", has_text="look at this").wait_for()
    shown = page.locator("#timeline-entries .entry .body p").first.inner_text()
    assert shown == "<script>alert('x')</script> look at this"
    assert dialogs == []


def test_it_replaces_an_edited_or_struck_entry_in_place_in_the_other_browser(page_for, live_server):
    from incidents import services

    alice, bob = UserFactory(), UserFactory()
    incident = IncidentFactory(declared_by=alice)
    entry = services.timeline_add(
        incident=incident, kind="hypothesis", body="It must be the database version", author=alice
    )
    url = live_server.url + incident.get_absolute_url()
    page_a, page_b = page_for(alice), page_for(bob)
    page_a.goto(url)
    page_b.goto(url)
    in_b = page_b.locator(f"#entry-{entry.pk}")
    assert "database version" in in_b.inner_text()

    page_a.click(f"#entry-{entry.pk} summary")
    page_a.fill(f"#entry-{entry.pk} textarea[name=body]", "Ruled out: database version is the same")
    page_a.click(f"#entry-{entry.pk} form[action$='/edit/'] button")
    in_b.locator(".body", has_text="Ruled out").wait_for(timeout=5_000)
    in_b.locator(".tag", has_text="edited").wait_for()

    page_a.click(f"#entry-{entry.pk} summary")
    page_a.fill(f"#entry-{entry.pk} input[name=reason]", "Wrong incident")
    page_a.click(f"#entry-{entry.pk} form[action$='/strike/'] button")
    in_b.locator(".struck-note", has_text="Wrong incident").wait_for(timeout=5_000)
    assert page_b.locator(f"#entry-{entry.pk}").count() == 1
    assert page_a.locator(f"#entry-{entry.pk}").count() == 1
