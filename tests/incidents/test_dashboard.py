"""The dashboard: open incidents, most severe first, with age, last update and role holders."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from incidents import services
from roles.services import role_assign
from tests.factories import IncidentFactory, UserFactory, trained_commander

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def at_t0():
    """The test starts at T0, its fixtures too: the user and the session it reads are not
    written at the real clock, which is months after T0 (and a year after in make test-future)."""
    with time_machine.travel(T0, tick=False):
        yield


def _text(response) -> str:
    # timesince and naturaltime use non-breaking spaces.
    return response.content.decode().replace("\xa0", " ")


def test_it_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/accounts/login/?next=/"


def test_it_says_all_quiet_without_open_incidents(rclient, responder):
    resolved = IncidentFactory(declared_by=responder, title="Old trouble")
    services.incident_change_status(incident=resolved, status="resolved", by=responder)

    html = _text(rclient.get("/"))

    assert "All quiet." in html
    assert "0 open" in html
    assert "Old trouble" not in html


@pytest.mark.usefixtures("at_t0")
def test_it_groups_open_incidents_by_severity(rclient, responder):
    minor = IncidentFactory(declared_by=responder, title="Slow search", severity=3)
    major = IncidentFactory(declared_by=responder, title="Checkout down", severity=1)
    other_minor = IncidentFactory(declared_by=responder, title="Stale cache", severity=3)
    closed = IncidentFactory(declared_by=responder, title="Fixed already", severity=1)
    services.incident_change_status(incident=closed, status="declined", by=responder, note="A bad check")

    with time_machine.travel(T0 + timedelta(hours=2, minutes=5), tick=False):
        response = rclient.get("/")

    assert response.status_code == 200
    html = _text(response)
    assert "3 open" in html
    assert "Fixed already" not in html
    # SEV-1 first, then SEV-3 with both of its incidents, oldest first.
    sev1, sev3 = html.index(">SEV-1<"), html.index(">SEV-3<")
    assert sev1 < html.index(major.title) < sev3 < html.index(minor.title) < html.index(other_minor.title)
    assert ">SEV-2<" not in html
    assert "open 2 hours, 5 minutes" in html
    assert f'href="/incidents/{major.number}/"' in html


@pytest.mark.usefixtures("at_t0")
def test_it_shows_the_last_update_and_role_holders(rclient, responder):
    commander = trained_commander(UserFactory(first_name="Iris", last_name="Commander"))
    scribe = UserFactory(first_name="Sam", last_name="Scribe")
    incident = IncidentFactory(declared_by=responder, title="Checkout down", severity=2)
    role_assign(incident=incident, role="incident_commander", user=commander, by=commander)
    role_assign(incident=incident, role="scribe", user=scribe, by=commander)
    with time_machine.travel(T0 + timedelta(minutes=3), tick=False):
        services.timeline_add(
            incident=incident, kind="finding", body="p95 is 12 s on payments", author=scribe
        )
    with time_machine.travel(T0 + timedelta(minutes=4), tick=False):
        wrong = services.timeline_add(incident=incident, kind="note", body="Ignore me", author=scribe)
        services.timeline_strike(entry=wrong, by=scribe, reason="wrong room")

    with time_machine.travel(T0 + timedelta(minutes=13), tick=False):
        html = _text(rclient.get("/"))

    # The newest entry that is not struck through.
    assert "10 minutes ago:</span> p95 is 12 s on payments" in html
    assert "Ignore me" not in html
    assert "Incident Commander</abbr> Iris Commander" in html
    assert "Scribe</abbr> Sam Scribe" in html
    assert html.index("Iris Commander") < html.index("Sam Scribe")
    assert "No Incident Commander yet" not in html


def test_it_warns_when_nobody_holds_a_role(rclient, incident):
    assert "No Incident Commander yet" in _text(rclient.get("/"))


def test_it_shows_the_deploy_freeze_and_security_badges(rclient, responder, incident, security_incident):
    services.incident_set_deploy_freeze(incident=incident, freeze=True, by=responder)
    html = _text(rclient.get("/"))
    assert "Deploy freeze</span>" in html
    assert "badge-security" in html
