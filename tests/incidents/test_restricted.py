"""A security incident is seen by its participants and admins only, on every surface.

An outsider is signed in, active and not staff: for them the incident does not
exist (404, absent from lists, counts and search), and nothing they post is written.
"""

import pytest

from incidents import services
from incidents.models import Incident, TimelineEntry
from tests.factories import UserFactory
from tests.incidents.pages import text_of

SECRET = "Leaked token in logs"


@pytest.fixture
def participant(responder, security_incident):
    user = UserFactory(first_name="Pia", last_name="Participant")
    services.participant_add(incident=security_incident, user=user, by=responder)
    return user


@pytest.fixture
def public_incident(responder, security_incident):
    # Declared after the restricted one: INC-1 is restricted, INC-2 is public.
    return services.incident_declare(title="Search is slow", severity=3, declared_by=responder)


@pytest.fixture
def note(responder, security_incident):
    return services.timeline_add(
        incident=security_incident, kind="note", body="Rotated the key", author=responder
    )


@pytest.fixture(params=["outsider", "participant", "staff_user"])
def viewer(request, client, public_incident, note, participant):
    user = request.getfixturevalue(request.param)
    client.force_login(user)
    client.may_see = request.param != "outsider"
    return client


def _state(incident: Incident) -> tuple:
    incident.refresh_from_db()
    return (
        incident.status,
        incident.severity,
        incident.deploy_freeze,
        incident.revision,
        TimelineEntry.objects.count(),
        incident.participants.count(),
    )


def test_the_room(viewer, security_incident):
    response = viewer.get("/incidents/1/")
    if viewer.may_see:
        assert response.status_code == 200
        assert SECRET in text_of(response)
    else:
        assert response.status_code == 404
        assert SECRET not in response.content.decode()


def test_an_older_page_of_the_timeline(viewer, security_incident, hx):
    response = viewer.get("/incidents/1/", {"before": "2026-11-23T09:00:00+00:00_999999"}, headers=hx)
    assert response.status_code == (200 if viewer.may_see else 404)


def test_the_poll(viewer, security_incident):
    security_incident.refresh_from_db()
    params = {"id": security_incident.pk}
    # Twice with nothing new (a cold, then a warm cache), then with news.
    for rev in (security_incident.revision, security_incident.revision, 0):
        response = viewer.get("/incidents/1/poll/", {**params, "rev": rev})
        if viewer.may_see:
            assert response.status_code == (204 if rev else 200)
        else:
            assert response.status_code == 404
            assert SECRET not in response.content.decode()
            assert "Rotated the key" not in response.content.decode()


def test_the_poll_through_a_public_incidents_url(viewer, security_incident, public_incident):
    """The id decides what is polled; a public incident's URL must not open a restricted one."""
    response = viewer.get(
        f"/incidents/{public_incident.number}/poll/", {"id": security_incident.pk, "rev": 0}
    )
    if viewer.may_see:
        assert response.status_code == 200
    else:
        assert response.status_code == 404
    assert "Rotated the key" not in response.content.decode()


POSTS = {
    "status": {"status": "investigating"},
    "severity": {"severity": "1"},
    "freeze": {"freeze": "on"},
    "timeline": {"kind": "note", "body": "Outsider was here"},
}


@pytest.mark.parametrize("action", POSTS)
def test_the_controls_and_the_entry_form(viewer, security_incident, action, hx):
    before = _state(security_incident)
    response = viewer.post(f"/incidents/1/{action}/", {**POSTS[action], "rev": before[3]}, headers=hx)
    if viewer.may_see:
        assert response.status_code == 200
        assert _state(security_incident) != before
    else:
        assert response.status_code == 404
        assert _state(security_incident) == before


def test_reopen(viewer, responder, security_incident):
    services.timeline_add(
        incident=security_incident, kind="verification", body="Key revoked", author=responder
    )
    services.incident_change_status(incident=security_incident, status="resolved", by=responder)
    before = _state(security_incident)
    response = viewer.post("/incidents/1/reopen/", {"reason": "Back"})
    if viewer.may_see:
        assert response.status_code == 302
        assert _state(security_incident)[0] == "investigating"
    else:
        assert response.status_code == 404
        assert _state(security_incident) == before


@pytest.mark.parametrize(("action", "data"), [("edit", {"body": "Changed"}), ("strike", {"reason": "Wrong"})])
def test_editing_and_striking_entries(viewer, security_incident, note, action, data):
    before = _state(security_incident)
    response = viewer.post(f"/incidents/1/timeline/{note.pk}/{action}/", data)
    note.refresh_from_db()
    if viewer.may_see:
        # Seen, so not a 404; whether they may change it is the author rule's business.
        assert response.status_code in (302, 422)
    else:
        assert response.status_code == 404
        assert _state(security_incident) == before
        assert (note.body, note.is_struck) == ("Rotated the key", False)


def test_the_dashboard(viewer, security_incident):
    text = text_of(viewer.get("/"))
    assert "Search is slow" in text
    if viewer.may_see:
        assert SECRET in text
        assert "2 open" in text
    else:
        assert SECRET not in text
        assert "1 open" in text
        assert "INC-1" not in text


def test_the_incident_list_and_its_count(viewer, security_incident):
    text = text_of(viewer.get("/incidents/"))
    assert "Search is slow" in text
    if viewer.may_see:
        assert SECRET in text
        assert "2 incidents" in text
    else:
        assert SECRET not in text
        assert "1 incident " in text
        assert "INC-1 " not in text


@pytest.mark.parametrize("q", ["Leaked", "token", "INC-1", "1"])
def test_search(viewer, security_incident, q, hx):
    for headers in ({}, hx):
        text = text_of(viewer.get("/incidents/", {"q": q}, headers=headers))
        if viewer.may_see:
            assert SECRET in text
            assert "1 incident " in text
        else:
            assert SECRET not in text
            assert "0 incidents" in text
            assert "No incidents match." in text


@pytest.mark.parametrize("status", ["open", "triage", ""])
def test_filtered_counts(viewer, security_incident, status):
    text = text_of(viewer.get("/incidents/", {"status": status, "severity": "2"}))
    if viewer.may_see:
        assert "1 incident " in text
    else:
        assert "0 incidents" in text


def test_the_declarer_sees_their_own_security_incident(client, responder, security_incident):
    client.force_login(responder)
    assert client.get("/incidents/1/").status_code == 200
    assert SECRET in text_of(client.get("/"))


def test_a_restricted_incident_becomes_visible_once_someone_is_added(
    client, outsider, responder, security_incident
):
    client.force_login(outsider)
    assert client.get("/incidents/1/").status_code == 404
    services.participant_add(incident=security_incident, user=outsider, by=responder)
    assert client.get("/incidents/1/").status_code == 200
    assert SECRET in text_of(client.get("/incidents/"))
