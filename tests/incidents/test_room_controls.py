"""Status, severity, reopen and deploy freeze from the room: plain form posts and htmx posts."""

import re

import pytest

from incidents import services
from incidents.models import Incident, TimelineEntry
from tests.incidents.pages import oob_targets, text_of


def _state(incident: Incident) -> tuple:
    incident.refresh_from_db()
    return (
        incident.status,
        incident.severity,
        incident.deploy_freeze,
        incident.revision,
        TimelineEntry.objects.count(),
    )


def _post(client, incident, action: str, data: dict, headers: dict | None = None):
    incident.refresh_from_db()
    if headers:
        data = {"rev": incident.revision, **data}
    return client.post(f"/incidents/{incident.number}/{action}/", data, headers=headers or {})


def _assert_htmx_answer(response, incident: Incident, *, new_entry_text: str) -> None:
    """The controls, reset, as the main answer; the rest of the room as out-of-band swaps."""
    incident.refresh_from_db()
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert content.lstrip().startswith('<section id="room-controls"')
    targets = oob_targets(response)
    assert "room-poller" in targets
    assert "room-header" in targets
    assert "afterbegin:#timeline-entries" in targets
    # htmx would swap the controls twice if they were also sent out of band.
    assert "room-controls" not in targets
    assert f"rev={incident.revision}" in content
    assert f'id="room-rev" name="rev" value="{incident.revision}"' in content
    new = re.search(r'hx-swap-oob="afterbegin:#timeline-entries">(.*?)</div>\s*$', content, flags=re.DOTALL)
    assert new is not None
    assert new_entry_text in text_of(new.group(1))


# --- Status --------------------------------------------------------------------------


def test_a_plain_post_changes_the_status_and_redirects(rclient, responder, incident):
    response = _post(rclient, incident, "status", {"status": "investigating", "note": "Looking at payments"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/incidents/1/"
    incident.refresh_from_db()
    assert incident.status == "investigating"
    entry = incident.timeline.get(revision=incident.revision)
    assert entry.body == "Status changed from Triage to Investigating\n\nLooking at payments"
    assert entry.author == responder


def test_an_htmx_post_answers_with_the_controls_and_the_changes(rclient, incident, hx):
    response = _post(rclient, incident, "status", {"status": "identified"}, hx)
    _assert_htmx_answer(response, incident, new_entry_text="Status changed from Triage to Identified")
    header = re.search(r'<section id="room-header".*?</section>', response.content.decode(), flags=re.DOTALL)
    assert "Identified" in text_of(header.group(0))
    # The controls now offer what follows "identified".
    select = re.search(r'<select id="status-select".*?</select>', response.content.decode(), flags=re.DOTALL)
    assert set(re.findall(r'value="(\w+)"', select.group(0))) == {"investigating", "monitoring", "resolved"}


def test_an_htmx_post_without_a_revision_redirects(rclient, incident, hx):
    response = rclient.post("/incidents/1/status/", {"status": "investigating"}, headers=hx)
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "investigating"


def test_a_refused_htmx_change_is_a_422_with_the_reason(rclient, responder, incident, hx):
    services.incident_change_status(incident=incident, status="identified", by=responder)
    before = _state(incident)

    response = _post(rclient, incident, "status", {"status": "triage"}, hx)

    assert response.status_code == 422
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="room-controls"')
    assert "<html" not in content
    assert "An incident cannot go from identified to triage." in text_of(response)
    assert _state(incident) == before


def test_a_refused_plain_change_is_the_room_with_the_reason(rclient, incident):
    before = _state(incident)
    response = _post(rclient, incident, "status", {"status": "triage"})
    assert response.status_code == 422
    assert "<html" in response.content.decode()
    assert "The incident is already triage." in text_of(response)
    assert _state(incident) == before


def test_a_major_incident_is_not_resolved_without_verification(rclient, responder, hx):
    incident = services.incident_declare(title="Checkout", severity=1, declared_by=responder)
    before = _state(incident)
    response = _post(rclient, incident, "status", {"status": "resolved"}, hx)
    assert response.status_code == 422
    assert "at least one verification step" in text_of(response)
    assert _state(incident) == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"status": "on-fire"}, "Select a valid choice. on-fire is not one of the available choices."),
        ({}, "This field is required."),
        ({"status": "investigating", "note": "n" * 2001}, None),
    ],
)
def test_bad_status_input_is_a_422_and_writes_nothing(rclient, incident, hx, data, message):
    before = _state(incident)
    response = _post(rclient, incident, "status", data, hx)
    assert response.status_code == 422
    if message:
        assert message in text_of(response)
    assert _state(incident) == before


def test_an_overlong_status_note_says_why(rclient, incident, hx):
    response = _post(rclient, incident, "status", {"status": "investigating", "note": "n" * 2001}, hx)
    assert "at most 2000 characters" in text_of(response)


def test_the_status_endpoint_only_takes_posts(rclient, incident):
    assert rclient.get("/incidents/1/status/").status_code == 405


# --- Reopen --------------------------------------------------------------------------


@pytest.fixture
def resolved(responder, incident) -> Incident:
    services.incident_change_status(incident=incident, status="resolved", by=responder)
    incident.refresh_from_db()
    return incident


def test_it_reopens_with_a_reason(rclient, resolved):
    response = _post(rclient, resolved, "reopen", {"reason": "Errors are back"})
    assert response.status_code == 302
    resolved.refresh_from_db()
    assert resolved.status == "investigating"
    assert resolved.timeline.get(revision=resolved.revision).body == (
        "Reopened (was resolved)\n\nErrors are back\n\n"
        "Not mitigated any more: the mitigation time is cleared."
    )


def test_it_reopens_with_htmx(rclient, resolved, hx):
    response = _post(rclient, resolved, "reopen", {"reason": "Errors are back"}, hx)
    _assert_htmx_answer(
        response,
        resolved,
        new_entry_text="Reopened (was resolved) Errors are back "
        "Not mitigated any more: the mitigation time is cleared.",
    )
    assert 'id="status-select"' in response.content.decode()


@pytest.mark.parametrize("reason", ["", "   "])
def test_it_does_not_reopen_without_a_reason(rclient, resolved, hx, reason):
    before = _state(resolved)
    response = _post(rclient, resolved, "reopen", {"reason": reason}, hx)
    assert response.status_code == 422
    assert "This field is required." in text_of(response)
    assert _state(resolved) == before


def test_it_does_not_reopen_an_open_incident(rclient, incident, hx):
    before = _state(incident)
    response = _post(rclient, incident, "reopen", {"reason": "Why not"}, hx)
    assert response.status_code == 422
    assert "Only a resolved or declined incident can be reopened." in text_of(response)
    assert _state(incident) == before


def test_a_closed_incident_refuses_a_status_change_with_the_way_out(rclient, resolved, hx):
    before = _state(resolved)
    response = _post(rclient, resolved, "status", {"status": "investigating"}, hx)
    assert response.status_code == 422
    assert "reopen it, with a reason" in text_of(response)
    assert _state(resolved) == before


# --- Severity ------------------------------------------------------------------------


def test_it_changes_the_severity(rclient, incident):
    response = _post(rclient, incident, "severity", {"severity": "2", "note": "More customers"})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.severity == 2


def test_it_changes_the_severity_with_htmx(rclient, incident, hx):
    response = _post(rclient, incident, "severity", {"severity": "1"}, hx)
    _assert_htmx_answer(response, incident, new_entry_text="Severity raised from SEV-3 to SEV-1")
    header = re.search(r'<section id="room-header".*?</section>', response.content.decode(), flags=re.DOTALL)
    assert "SEV-1 · major" in text_of(header.group(0))


@pytest.mark.parametrize(
    ("severity", "message"),
    [
        ("3", "The incident is already SEV-3."),
        ("0", "Select a valid choice."),
        ("7", "Select a valid choice."),
        ("high", "Select a valid choice."),
        ("", "This field is required."),
    ],
)
def test_a_bad_severity_is_a_422_with_the_reason(rclient, incident, hx, severity, message):
    before = _state(incident)
    response = _post(rclient, incident, "severity", {"severity": severity}, hx)
    assert response.status_code == 422
    assert message in text_of(response)
    assert _state(incident) == before


def test_a_closed_incident_keeps_its_severity(rclient, resolved, hx):
    before = _state(resolved)
    response = _post(rclient, resolved, "severity", {"severity": "1"}, hx)
    assert response.status_code == 422
    assert "A closed incident keeps its severity; reopen it first." in text_of(response)
    assert _state(resolved) == before


# --- Deploy freeze -------------------------------------------------------------------


def test_it_freezes_deploys(rclient, incident):
    response = _post(rclient, incident, "freeze", {"freeze": "on"})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.deploy_freeze


def test_it_freezes_and_lifts_with_htmx(rclient, incident, hx):
    response = _post(rclient, incident, "freeze", {"freeze": "on"}, hx)
    _assert_htmx_answer(response, incident, new_entry_text="Deploy freeze on")
    assert "Deploy freeze: do not deploy" in text_of(response)
    assert "Lift deploy freeze" in text_of(response)

    response = _post(rclient, incident, "freeze", {}, hx)
    _assert_htmx_answer(response, incident, new_entry_text="Deploy freeze lifted.")
    assert "Deploy freeze: do not deploy" not in text_of(response)
    assert "Freeze deploys" in text_of(response)


def test_a_refused_freeze_is_a_422_with_the_reason(rclient, incident, hx):
    before = _state(incident)
    response = _post(rclient, incident, "freeze", {}, hx)
    assert response.status_code == 422
    assert "The deploy freeze is already off." in text_of(response)
    assert _state(incident) == before


def test_a_closed_incident_cannot_freeze(rclient, resolved):
    before = _state(resolved)
    response = _post(rclient, resolved, "freeze", {"freeze": "on"})
    assert response.status_code == 422
    assert _state(resolved) == before


# --- Every control answers 404 for an unknown incident and asks for a login ---------------


@pytest.mark.parametrize("action", ["status", "severity", "reopen", "freeze"])
def test_an_unknown_incident_is_a_404(rclient, incident, action):
    assert rclient.post(f"/incidents/42/{action}/", {"status": "investigating"}).status_code == 404


@pytest.mark.parametrize("action", ["status", "severity", "reopen", "freeze"])
def test_it_requires_login(client, incident, action):
    before = _state(incident)
    response = client.post(
        f"/incidents/1/{action}/", {"status": "investigating", "severity": "1", "freeze": "on"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts/login/")
    assert _state(incident) == before
