"""What the room shows stays right as it changes: times in the viewer's zone, the status control,
the acknowledgement, the status-page card."""

import re
from datetime import UTC, datetime

import pytest
import time_machine

from incidents import services
from incidents.models import Incident
from roles.models import Profile
from roles.services import page_acknowledge, page_send, role_assign
from statuspage.services import statuspage_publish_update
from tests.api.conftest import TokenClient
from tests.factories import IncidentFactory, UserFactory, trained_commander

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _select(html: str) -> str:
    return re.search(r'<select id="status-select".*?</select>', html, flags=re.DOTALL).group(0)


def test_times_are_in_the_viewers_own_zone_with_its_abbreviation(client, db):
    with time_machine.travel(T0, tick=False):
        reader = UserFactory()
        Profile.objects.create(user=reader, timezone="America/New_York")
        client.force_login(reader)
        incident = IncidentFactory(declared_by=reader)
        html = client.get(incident.get_absolute_url()).content.decode()
    # 09:00 UTC is 04:00 in New York in November (EST), on the header and on each entry.
    assert "Declared Nov 23, 04:00 EST" in html
    assert "Nov 23, 04:00:00 EST" in html
    assert "09:00 UTC" not in html and "09:00:00 UTC" not in html
    # The API keeps ISO 8601 with the offset, whoever asks (the page's zone is not the API's).
    answer = TokenClient(reader).get(f"/api/v1/incidents/{incident.pk}/").json()
    assert answer["declared_at"] in ("2026-11-23T09:00:00Z", "2026-11-23T09:00:00+00:00")


def test_a_changed_zone_shows_from_the_next_page_on(client, db):
    reader = UserFactory()
    profile = Profile.objects.create(user=reader, timezone="Europe/Berlin")
    client.force_login(reader)
    incident = IncidentFactory(declared_by=reader)
    assert re.search(r"\d\d:\d\d:\d\d CET", client.get(incident.get_absolute_url()).content.decode())
    profile.timezone = "Asia/Tokyo"
    profile.save()
    assert re.search(r"\d\d:\d\d:\d\d JST", client.get(incident.get_absolute_url()).content.decode())


def test_without_a_profile_the_portals_zone_is_shown(rclient, incident):
    assert re.search(r"\d\d:\d\d:\d\d UTC", rclient.get(incident.get_absolute_url()).content.decode())


def test_the_status_control_offers_the_next_step_forward_first(rclient, responder, incident):
    select = _select(rclient.get(incident.get_absolute_url()).content.decode())
    assert 'value="investigating" selected' in select
    services.incident_change_status(incident=incident, status="identified", by=responder)
    select = _select(rclient.get(incident.get_absolute_url()).content.decode())
    # From Identified, Investigating is a step back: Monitoring is offered.
    assert 'value="monitoring" selected' in select
    assert 'value="investigating" selected' not in select


def test_a_refused_resolve_keeps_what_was_chosen(rclient, responder, hx):
    incident = IncidentFactory(declared_by=responder, severity=1, rollback_considered="No")
    services.incident_change_status(incident=incident, status="identified", by=responder)
    incident.refresh_from_db()
    answer = rclient.post(
        f"/incidents/{incident.number}/status/",
        {"status": "resolved", "rev": incident.revision},
        headers=hx,
    )
    assert answer.status_code == 422
    assert "verification step" in answer.content.decode()
    assert 'value="resolved" selected' in _select(answer.content.decode())


def test_the_first_page_acknowledgement_acknowledges_the_incident(db):
    commander, responder = trained_commander(UserFactory()), UserFactory(first_name="Dev")
    incident = IncidentFactory(declared_by=commander, severity=3)
    role_assign(incident=incident, role="incident_commander", user=commander, by=commander)
    page = page_send(incident=incident, by=commander, person=responder)
    incident.refresh_from_db()
    assert incident.acknowledged_at is None and incident.status == Incident.Status.TRIAGE

    page_acknowledge(page=page, user=responder)

    incident.refresh_from_db()
    assert incident.status == Incident.Status.TRIAGE
    assert incident.acknowledged_at == page.__class__.objects.get(pk=page.pk).acknowledged_at
    entry = incident.timeline.get(kind="page", data__acknowledged=True)
    assert entry.data["incident_acknowledged"] is True
    # A later move out of triage does not move it.
    acknowledged = incident.acknowledged_at
    services.incident_change_status(incident=incident, status="investigating", by=commander)
    incident.refresh_from_db()
    assert incident.acknowledged_at == acknowledged


def test_a_move_out_of_triage_before_any_page_acknowledges_it(responder, incident):
    services.incident_change_status(incident=incident, status="investigating", by=responder)
    incident.refresh_from_db()
    assert incident.acknowledged_at is not None


def test_the_header_shows_the_acknowledgement_in_the_other_browsers_poll(client, db):
    commander, responder = trained_commander(UserFactory()), UserFactory()
    incident = IncidentFactory(declared_by=commander)
    page = page_send(incident=incident, by=commander, person=responder)
    incident.refresh_from_db()
    seen = incident.revision
    client.force_login(commander)
    page_acknowledge(page=page, user=responder)
    delta = _poll(client, incident, seen)
    acknowledged = re.search(r"<dt>Acknowledged</dt><dd>([^<]*)</dd>", delta).group(1)
    assert acknowledged != "—" and "UTC" in acknowledged


@pytest.fixture
def liaison_and_outsider(db):
    commander = trained_commander(UserFactory(first_name="Ivy"))
    liaison, observer = UserFactory(first_name="Cory"), UserFactory(first_name="Olga")
    incident = IncidentFactory(declared_by=commander, title="Checkout fails")
    role_assign(incident=incident, role="incident_commander", user=commander, by=commander)
    role_assign(incident=incident, role="customer_liaison", user=liaison, by=commander)
    return incident, commander, liaison, observer


def test_the_status_card_offers_posting_only_to_who_may(client, liaison_and_outsider):
    incident, _, liaison, observer = liaison_and_outsider
    client.force_login(observer)
    card = _card(client.get(incident.get_absolute_url()).content.decode())
    assert "Post a public update" not in card
    assert "The customer liaison, the Incident Commander or the deputy posts public updates." in card
    client.force_login(liaison)
    assert "Post a public update" in _card(client.get(incident.get_absolute_url()).content.decode())


def test_the_status_card_follows_a_public_update_in_the_poll(client, liaison_and_outsider):
    incident, _, liaison, observer = liaison_and_outsider
    client.force_login(observer)
    incident.refresh_from_db()
    seen = incident.revision
    statuspage_publish_update(
        incident=incident,
        by=liaison,
        title="Checkout is slow",
        status="investigating",
        body="Looking into it.",
    )
    delta = _poll(client, incident, seen)
    card = _card(delta)
    assert 'hx-swap-oob="true"' in card
    assert "Customers see <strong>Checkout is slow</strong>" in card
    assert "Investigating" in card and "Looking into it." in card
    # A note alone leaves the card as it is.
    incident.refresh_from_db()
    seen = incident.revision
    services.timeline_add(incident=incident, kind="note", body="still slow", author=observer)
    delta = _poll(client, incident, seen)
    assert 'id="room-public-update"' not in delta


def _card(html: str) -> str:
    return re.search(r'<section id="room-public-update".*?</section>', html, flags=re.DOTALL).group(0)


def _poll(client, incident, seen: int) -> str:
    answer = client.get(f"/incidents/{incident.number}/poll/", {"id": incident.pk, "rev": seen})
    return answer.content.decode()
