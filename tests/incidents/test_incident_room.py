"""The incident room: header, controls, a paged timeline, and older pages fetched by htmx."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
import time_machine

from incidents import services
from incidents.models import TimelineEntry
from incidents.selectors import TimelineCursor
from roles.services import role_assign
from tests.factories import IncidentFactory, UserFactory, trained_commander
from tests.incidents.pages import text_of

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def at_t0():
    """The test starts at T0, its fixtures too: the incident, the user and the session it reads
    are not written at the real clock, which is months after T0 (a year after in make test-future)."""
    with time_machine.travel(T0, tick=False):
        yield


def _entry_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'<article id="entry-(\d+)"', response.content.decode())]


def _older_url(response) -> str | None:
    match = re.search(r'hx-get="([^"]*\?before=[^"]*)"', response.content.decode())
    return match.group(1).replace("&amp;", "&") if match else None


def test_it_requires_login(client, incident):
    response = client.get(incident.get_absolute_url())
    assert response.status_code == 302
    assert response.headers["Location"] == "/accounts/login/?next=/incidents/1/"


@pytest.mark.parametrize("path", ["/incidents/999/", "/incidents/0/", "/incidents/99999999999999999999/"])
def test_an_unknown_incident_is_a_404(rclient, incident, path):
    assert rclient.get(path).status_code == 404


@pytest.mark.usefixtures("at_t0")
def test_it_shows_the_header(rclient, responder):
    incident = IncidentFactory(
        declared_by=responder,
        title="Checkout fails",
        severity=1,
        summary="EU customers",
        is_security=True,
    )
    with time_machine.travel(T0 + timedelta(minutes=42), tick=False):
        text = text_of(rclient.get(incident.get_absolute_url()))
    assert "INC-1 Checkout fails" in text
    assert "SEV-1 · major" in text
    assert "Triage" in text
    assert "Security · restricted" in text
    assert "Open for 42 minutes" in text
    assert "Declared Nov 23, 09:00 UTC by Rita Responder" in text
    assert "EU customers" in text
    assert "Deploy freeze" not in text


@pytest.mark.usefixtures("at_t0")
def test_a_closed_incident_says_how_long_it_was_open_not_how_long_ago_it_began(rclient, responder):
    incident = IncidentFactory(declared_by=responder)
    with time_machine.travel(T0 + timedelta(hours=2, minutes=5), tick=False):
        services.incident_change_status(incident=incident, status="resolved", by=responder)
    with time_machine.travel(T0 + timedelta(days=6), tick=False):
        text = text_of(rclient.get(incident.get_absolute_url()))
    assert "Was open for 2 hours, 5 minutes (closed 5 days, 21 hours ago)" in text
    assert "Open for 6 days" not in text


def test_it_shows_the_deploy_freeze_banner(rclient, responder, incident):
    services.incident_set_deploy_freeze(incident=incident, freeze=True, by=responder)
    response = rclient.get(incident.get_absolute_url())
    assert "Deploy freeze: do not deploy until the incident commander lifts it." in text_of(response)
    assert "Lift deploy freeze" in text_of(response)


def test_the_controls_offer_the_allowed_next_statuses(rclient, responder, incident):
    services.incident_change_status(incident=incident, status="identified", by=responder)
    content = rclient.get(incident.get_absolute_url()).content.decode()
    select = re.search(r'<select id="status-select".*?</select>', content, flags=re.DOTALL).group(0)
    assert set(re.findall(r'value="(\w+)"', select)) == {"investigating", "monitoring", "resolved"}
    assert 'action="/incidents/1/severity/"' in content
    assert re.search(r'<option value="3"\s+selected>SEV-3', content)
    assert "Freeze deploys" in content
    assert "Reopen incident" not in content


def test_a_closed_incident_offers_to_reopen(rclient, responder, incident):
    services.incident_change_status(incident=incident, status="resolved", by=responder)
    response = rclient.get(incident.get_absolute_url())
    text = text_of(response)
    assert "This incident is resolved. If it is back, reopen it and say why." in text
    assert "Reopen incident" in text
    assert 'id="status-select"' not in response.content.decode()


def test_it_shows_role_holders(rclient, responder, incident):
    commander = trained_commander(UserFactory(first_name="Iris", last_name="Commander"))
    role_assign(incident=incident, role="incident_commander", user=commander, by=commander)
    text = text_of(rclient.get(incident.get_absolute_url()))
    assert "Incident Commander Iris Commander" in text
    assert "Iris Commander is now Incident Commander" in text  # the timeline entry


@pytest.mark.usefixtures("at_t0")
def test_it_shows_the_timeline_entries(rclient, responder, incident):
    other = UserFactory(first_name="Sasha", last_name="Expert")
    finding = services.timeline_add(incident=incident, kind="finding", body="p95 is **12 s**", author=other)
    mine = services.timeline_add(incident=incident, kind="todo", body="Add an alert", author=responder)
    services.timeline_add(
        incident=incident,
        kind="action",
        body="Restarted pods",
        author=responder,
        occurred_at=T0 - timedelta(minutes=20),
        backdate_reason="from the call",
    )
    services.timeline_edit(entry=mine, body="Add an alert on pool size", by=responder)
    struck = services.timeline_add(incident=incident, kind="note", body="Wrong room", author=responder)
    services.timeline_strike(entry=struck, by=responder, reason="meant INC-7")

    response = rclient.get(incident.get_absolute_url())
    content, text = response.content.decode(), text_of(response)
    assert "Finding" in text and "p95 is 12 s" in text
    assert "<strong>12 s</strong>" in content
    assert "TODO" in text and "Add an alert on pool size" in text
    assert "edited" in text
    assert "Action taken" in text and "back-dated" in text
    assert "<del><p>Wrong room</p></del>" in content
    assert "Struck through by Rita Responder: meant INC-7" in text
    assert "Sasha Expert" in text
    # Newest first by when it happened; the back-dated action sorts where it happened.
    ids = _entry_ids(response)
    assert ids.index(struck.pk) < ids.index(finding.pk) < ids.index(ids[-1])
    assert ids[-1] == incident.timeline.get(kind="action").pk
    # Only the author gets the edit form for their own entry.
    assert f'action="/incidents/1/timeline/{mine.pk}/edit/"' in content
    assert f'action="/incidents/1/timeline/{finding.pk}/edit/"' not in content
    assert f'action="/incidents/1/timeline/{struck.pk}/edit/"' not in content


def test_the_forms_add_notes_findings_actions_and_todos(rclient, incident):
    content = rclient.get(incident.get_absolute_url()).content.decode()
    assert 'action="/incidents/1/timeline/"' in content
    kinds = re.findall(r'name="kind" value="(\w+)"', content)
    assert {"note", "finding", "action", "todo"} <= set(kinds)
    assert not {"status", "severity", "role", "page", "alert", "public_update"} & set(kinds)


@pytest.fixture
def long_incident(responder, incident, settings):
    """120 entries on top of the declaration, a second apart."""
    settings.TIMELINE_PAGE_SIZE = 50
    incident.refresh_from_db()
    TimelineEntry.objects.bulk_create(
        TimelineEntry(
            incident=incident,
            kind="note",
            body=f"Note {i}",
            body_html=f"<p>Note {i}</p>",
            author=responder,
            occurred_at=T0 + timedelta(seconds=i),
            recorded_at=T0 + timedelta(seconds=i),
            revision=incident.revision,
            revision_created=incident.revision,
        )
        for i in range(120)
    )
    return incident


def test_the_timeline_is_paged(rclient, long_incident, hx):
    all_ids = list(long_incident.timeline.order_by("-occurred_at", "-id").values_list("id", flat=True))
    assert len(all_ids) == 121

    first = rclient.get(long_incident.get_absolute_url())
    assert _entry_ids(first) == all_ids[:50]
    assert "Show older entries" in text_of(first)
    assert "Note 119" in text_of(first) and "Note 69" not in text_of(first)

    seen = _entry_ids(first)
    url = _older_url(first)
    pages = 1
    while url:
        page = rclient.get(url, headers=hx)
        assert page.status_code == 200
        assert "<html" not in page.content.decode()
        seen += _entry_ids(page)
        url = _older_url(page)
        pages += 1
    assert pages == 3
    # Every entry exactly once, in order, and the last page offers no more.
    assert seen == all_ids
    assert "Note 0" in text_of(page)


def test_entries_at_the_same_instant_are_not_lost_between_pages(rclient, responder, incident, settings, hx):
    settings.TIMELINE_PAGE_SIZE = 5
    same = T0
    TimelineEntry.objects.bulk_create(
        TimelineEntry(
            incident=incident,
            kind="note",
            body=f"Tie {i}",
            body_html=f"<p>Tie {i}</p>",
            author=responder,
            occurred_at=same,
        )
        for i in range(12)
    )
    seen, url = [], incident.get_absolute_url()
    response = rclient.get(url)
    seen += _entry_ids(response)
    while url := _older_url(response):
        response = rclient.get(url, headers=hx)
        seen += _entry_ids(response)
    assert sorted(seen) == sorted(incident.timeline.values_list("id", flat=True))
    assert len(seen) == len(set(seen)) == 13


@pytest.mark.parametrize(
    "before",
    [
        # A date Python parses that is before year 1 in UTC.
        "0001-01-01T00:00:00+01:00_5",
        "garbage",
        "",
        "2026-11-23T09:00:00+00:00",
        "2026-13-45T09:00:00+00:00_5",
        "2026-11-23T09:00:00+00:00_x",
        "_5",
    ],
)
def test_a_bad_cursor_is_a_400(rclient, incident, hx, before):
    response = rclient.get(incident.get_absolute_url(), {"before": before}, headers=hx)
    assert response.status_code == 400
    assert "That page of the timeline does not exist." in response.content.decode()


def test_a_cursor_without_a_time_zone_is_a_400(rclient, incident, hx):
    response = rclient.get(incident.get_absolute_url(), {"before": "2026-11-23T09:00:00_5"}, headers=hx)
    assert response.status_code == 400


def test_a_cursor_past_the_end_is_an_empty_page(rclient, incident, hx):
    cursor = TimelineCursor(datetime(2000, 1, 1, tzinfo=UTC), 1).encode()
    response = rclient.get(f"{incident.get_absolute_url()}?before={quote(cursor)}", headers=hx)
    assert response.status_code == 200
    assert _entry_ids(response) == []
    assert _older_url(response) is None


@pytest.mark.parametrize("entry_id", [str(10**30), "0", "-5", "²"])
def test_a_cursor_with_an_impossible_id_is_a_400(rclient, incident, hx, entry_id):
    cursor = f"{T0.isoformat()}_{entry_id}"
    response = rclient.get(incident.get_absolute_url(), {"before": cursor}, headers=hx)
    assert response.status_code == 400


def test_an_entry_without_an_author_is_shown_as_written_by_coolhead(rclient, incident):
    services.timeline_record(incident=incident, kind="alert", body="DiskFull on db1", author=None)
    response = rclient.get(incident.get_absolute_url())
    assert response.status_code == 200
    assert "Coolhead" in text_of(response)


# -23:59 is a valid offset for Python, not for PostgreSQL: the cursor is compared in UTC.
@pytest.mark.parametrize(
    "when", ["2026-11-23T21:00:00+12:00", "2026-11-23T09:00:00-23:59", "9999-12-31T23:59:59+00:00"]
)
def test_a_cursor_in_another_zone_means_the_same_instant(rclient, responder, incident, hx, when):
    incident.refresh_from_db()
    response = rclient.get(incident.get_absolute_url(), {"before": f"{when}_{10**6}"}, headers=hx)
    assert response.status_code == 200


def test_it_links_the_outbox_only_for_those_who_may_open_it(client, incident):
    from roles.services import role_assign
    from tests.factories import UserFactory

    commander, bystander = UserFactory(), UserFactory()
    role_assign(incident=incident, role="incident_commander", user=commander, by=None)
    outbox_link = f"/comms/outbox/?incident={incident.number}"

    client.force_login(bystander)
    assert outbox_link not in client.get(incident.get_absolute_url()).content.decode()
    client.force_login(commander)
    assert outbox_link in client.get(incident.get_absolute_url()).content.decode()
    assert client.get(outbox_link).status_code == 200
