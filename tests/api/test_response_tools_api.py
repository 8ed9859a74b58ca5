"""The response tools through the API: hypotheses, decisions, changes, verification, contacts."""

import pytest

from incidents.models import Change
from incidents.services import incident_declare
from tests.api.conftest import TokenClient, assert_error
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sev1(user):
    return incident_declare(title="[Outage]: checkout", severity=1, declared_by=user)


def _url(incident, path: str) -> str:
    return f"/api/v1/incidents/{incident.pk}/{path}"


def test_a_major_incident_reports_its_open_rollback_question_until_answered(api):
    body = api.post("/api/v1/incidents/", {"title": "Down", "severity": 2}, format="json").json()
    assert body["rollback_question_open"] is True
    answered = api.post(
        f"/api/v1/incidents/{body['id']}/rollback-answer/", {"answer": "No: data moved"}, format="json"
    )
    assert answered.status_code == 200
    assert answered.json()["rollback_question_open"] is False
    assert answered.json()["rollback_considered"] == "No: data moved"


def test_hypothesis_decision_and_change_citing_each_other(api, sev1):
    hypothesis = api.post(
        _url(sev1, "hypotheses/"), {"statement": "The pool is exhausted"}, format="json"
    ).json()
    assert hypothesis["state"] == "open"
    decision = api.post(
        _url(sev1, "decisions/"),
        {"kind": "patch", "summary": "Raise the pool", "reason": "Buys time", "hypothesis": hypothesis["id"]},
        format="json",
    )
    assert decision.status_code == 201 and decision.json()["hypothesis"] == hypothesis["id"]
    change = api.post(
        _url(sev1, "changes/"),
        {
            "what": "DB_POOL_SIZE",
            "where": "checkout env",
            "old_value": "20",
            "new_value": "80",
            "decision": decision.json()["id"],
            "hypothesis": hypothesis["id"],
        },
        format="json",
    )
    assert change.status_code == 201
    assert (change.json()["old_value"], change.json()["state"]) == ("20", "in_place")
    decided = api.post(
        _url(sev1, f"hypotheses/{hypothesis['id']}/decide/"),
        {"state": "confirmed", "evidence": "pgbouncer shows 0 free"},
        format="json",
    )
    assert decided.status_code == 200 and decided.json()["state"] == "confirmed"
    listed = api.get(_url(sev1, "hypotheses/")).json()
    assert [h["state"] for h in listed] == ["confirmed"]


def test_a_reference_to_another_incidents_record_is_a_400(api, sev1, user):
    other = incident_declare(title="Other", severity=3, declared_by=user)
    foreign = api.post(_url(other, "hypotheses/"), {"statement": "DNS"}, format="json").json()
    response = api.post(
        _url(sev1, "decisions/"),
        {"kind": "fix", "summary": "x", "reason": "y", "hypothesis": foreign["id"]},
        format="json",
    )
    body = assert_error(response, 400, "invalid")
    assert "hypothesis" in body["errors"]


def test_a_sensitive_change_is_masked_for_others(api, sev1, user):
    api.post(
        _url(sev1, "changes/"),
        {
            "what": "API key",
            "where": "payments",
            "old_value": "sk_old",
            "new_value": "sk_new",
            "is_sensitive": True,
        },
        format="json",
    )
    mine = api.get(_url(sev1, "changes/")).json()[0]
    assert (mine["old_value"], mine["values_hidden"]) == ("sk_old", False)
    colleague = TokenClient(UserFactory())
    theirs = colleague.get(_url(sev1, "changes/")).json()[0]
    assert (theirs["old_value"], theirs["new_value"], theirs["values_hidden"]) == ("••••••", "••••••", True)
    timeline = colleague.get(_url(sev1, "timeline/")).content.decode()
    assert "sk_old" not in timeline and "sk_new" not in timeline


def test_resolving_with_changes_in_place_says_which_and_takes_keep_or_restore(api, sev1):
    change = api.post(
        _url(sev1, "changes/"),
        {"what": "flag", "where": "LD", "old_value": "on", "new_value": "off"},
        format="json",
    ).json()
    api.post(_url(sev1, "verifications/"), {"checked": "Checkout works"}, format="json")
    refused = api.post(_url(sev1, "status/"), {"status": "resolved"}, format="json")
    body = assert_error(refused, 409, "changes_in_place")
    assert body["errors"]["settle_changes"] == [f"{change['id']}: flag (LD)"]
    resolved = api.post(
        _url(sev1, "status/"),
        {"status": "resolved", "settle_changes": {str(change["id"]): "restore"}},
        format="json",
    )
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert Change.objects.get(pk=change["id"]).state == "reverted"
    restores = [c for c in api.get(_url(sev1, "changes/")).json() if c["restores"] == change["id"]]
    assert restores and restores[0]["new_value"] == "on"


def test_contacts_round_trip_and_bad_links_are_a_409_with_a_message(api, sev1):
    put = api.put(
        _url(sev1, "contacts/"),
        {
            "bridge_url": "https://meet.example.com/x",
            "chat_channel": "#inc",
            "dashboards": "https://g.example.com/d",
        },
        format="json",
    )
    assert put.status_code == 200 and put.json()["chat_channel"] == "#inc"
    assert api.get(f"/api/v1/incidents/{sev1.pk}/").json()["bridge_url"] == "https://meet.example.com/x"
    bad = api.put(_url(sev1, "contacts/"), {"dashboards": "not a link"}, format="json")
    assert_error(bad, 409)


@pytest.mark.parametrize("path", ["hypotheses/", "decisions/", "changes/", "verifications/", "contacts/"])
def test_a_restricted_incident_s_tools_are_a_404_to_outsiders(outsider_api, path):
    secret = IncidentFactory(is_security=True)
    assert_error(outsider_api.get(_url(secret, path)), 404)
    write = outsider_api.put if path == "contacts/" else outsider_api.post
    assert_error(write(_url(secret, path), {}, format="json"), 404)


@pytest.fixture
def secret_records(db):
    """A restricted incident with one record of each kind its transitions act on."""
    from incidents.services import tools

    secret = IncidentFactory(is_security=True, severity=1)
    hypothesis = tools.hypothesis_raise(incident=secret, by=None, statement="The database")
    decision = tools.decision_record(incident=secret, by=None, kind="fix", summary="Fix it", reason="y")
    change = tools.change_record(incident=secret, by=None, what="pool", where="db", new_value="80")
    return secret, hypothesis, decision, change


def _states(secret) -> tuple:
    from incidents.models import Decision, Hypothesis, Verification

    secret.refresh_from_db()
    return (
        secret.revision,
        secret.rollback_considered,
        list(Hypothesis.objects.values_list("state", flat=True)),
        list(Decision.objects.values_list("state", flat=True)),
        sorted(Change.objects.values_list("state", flat=True)),
        Verification.objects.count(),
        secret.timeline.count(),
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("hypotheses/{hypothesis}/decide/", {"state": "ruled_out", "evidence": "logs"}),
        ("decisions/{decision}/close/", {"state": "done"}),
        ("changes/{change}/restore/", {}),
        ("changes/{change}/keep/", {}),
        ("verifications/", {"checked": "checkout works", "result": "passed"}),
        ("rollback-answer/", {"answer": "no"}),
    ],
)
def test_a_restricted_incident_s_transitions_are_a_404_to_outsiders(outsider_api, secret_records, path, body):
    secret, hypothesis, decision, change = secret_records
    before = _states(secret)
    url = _url(secret, path.format(hypothesis=hypothesis.pk, decision=decision.pk, change=change.pk))
    response = outsider_api.post(url, body, format="json")
    assert_error(response, 404)
    assert "The database" not in response.content.decode()
    assert _states(secret) == before


def test_while_an_ic_is_assigned_closing_keeping_and_the_rollback_answer_are_theirs(api, user, sev1):
    """The API answers 403 to what is the IC's, and the IC's own token does it."""
    from incidents.services import tools
    from roles.models import IncidentRole, RoleAssignment

    commander = UserFactory(username="ic")
    RoleAssignment.objects.create(incident=sev1, role=IncidentRole.INCIDENT_COMMANDER, user=commander)
    decision = tools.decision_record(incident=sev1, by=commander, kind="fix", summary="Fix it", reason="y")
    change = tools.change_record(incident=sev1, by=user, what="pool", where="db", new_value="80")
    before = _states(sev1)
    for path, body in (
        (f"decisions/{decision.pk}/close/", {"state": "done"}),
        (f"changes/{change.pk}/keep/", {}),
        ("rollback-answer/", {"answer": "Yes"}),
    ):
        refused = api.post(_url(sev1, path), body, format="json")
        assert_error(refused, 403)
        assert "The Incident Commander or the deputy decides this" in refused.json()["detail"]
    assert _states(sev1) == before
    # Restoring a change is anyone's who works the incident.
    assert api.post(_url(sev1, f"changes/{change.pk}/restore/"), {}, format="json").status_code == 201
    ic_api = TokenClient(commander)
    closed = ic_api.post(_url(sev1, f"decisions/{decision.pk}/close/"), {"state": "done"}, format="json")
    assert closed.status_code == 200 and closed.json()["state"] == "done"
    answered = ic_api.post(_url(sev1, "rollback-answer/"), {"answer": "No"}, format="json")
    assert answered.status_code == 200 and answered.json()["rollback_considered"] == "No"
