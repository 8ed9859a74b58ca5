"""The API of command and control: proposals to the IC and tasks (make, approve, reject, refused with
nothing written), and becoming major through the API and through an alert (the on-call IC paged
once, the stakeholders told once)."""

import pytest

from comms.models import Message
from incidents.models import Incident, Participation, TimelineEntry
from roles.models import IncidentRole, Page, Proposal, Schedule, Service, Task, Team
from roles.services import role_assign
from tests.api.alerting import payload, post_alertmanager
from tests.api.conftest import TokenClient, assert_error
from tests.factories import IncidentFactory, UserFactory
from tests.roles.conftest import person, rotation

pytestmark = pytest.mark.django_db


@pytest.fixture
def staffed(db):
    """A SEV-3 with an IC and an SME, and their API clients."""
    incident = IncidentFactory(severity=3, rollback_considered="No")
    ic, sme = person("Ida Commander"), person("Sam Expert")
    for user, role in ((ic, IncidentRole.INCIDENT_COMMANDER), (sme, IncidentRole.SUBJECT_MATTER_EXPERT)):
        Participation.objects.create(incident=incident, user=user)
        role_assign(incident=incident, role=role, user=user, by=None)
    return incident, {"ic": TokenClient(ic), "sme": TokenClient(sme)}, {"ic": ic, "sme": sme}


def _proposal_entries(incident) -> int:
    return incident.timeline.filter(kind=TimelineEntry.Kind.PROPOSAL).count()


def test_an_sme_proposes_and_the_ic_approves_one_and_rejects_the_other(staffed):
    incident, api, people = staffed
    url = f"/api/v1/incidents/{incident.pk}/proposals/"
    # The direct way is refused, and says how to do it instead.
    refused = assert_error(
        api["sme"].post(f"/api/v1/incidents/{incident.pk}/severity/", {"severity": 1}, format="json"), 403
    )
    assert "propose" in refused["detail"].lower()

    severity = {"action": "severity", "severity": 1, "reason": "All of EU"}
    raise_it = api["sme"].post(url, severity, format="json")
    assert raise_it.status_code == 201, raise_it.content
    assert raise_it.json()["state"] == "open" and raise_it.json()["proposed_by"]["id"] == people["sme"].pk
    roll_back = api["sme"].post(
        url,
        {
            "action": "decision",
            "kind": "rollback",
            "summary": "Back to 4.1",
            "rollback_to": "4.1.9",
            "reason": "4.2 began it",
        },
        format="json",
    )
    assert roll_back.status_code == 201, roll_back.content
    listed = api["ic"].get(url).json()
    assert [p["action"] for p in listed] == ["severity", "decision"]

    approved = api["ic"].post(f"{url}{raise_it.json()['id']}/approve/", {"answer": "Yes"}, format="json")
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    assert Incident.objects.get(pk=incident.pk).severity == 1
    # A rejection needs a reason: the service refuses it (409), nothing changes.
    assert_error(api["ic"].post(f"{url}{roll_back.json()['id']}/reject/", {}, format="json"), 409)
    assert Proposal.objects.get(pk=roll_back.json()["id"]).state == "open"
    rejected = api["ic"].post(
        f"{url}{roll_back.json()['id']}/reject/", {"answer": "The migration ran"}, format="json"
    )
    assert rejected.status_code == 200
    assert (rejected.json()["state"], rejected.json()["answer"]) == ("rejected", "The migration ran")
    assert not incident.decisions.exists()


def test_a_non_decider_may_not_answer_and_an_outsider_does_not_see_it(staffed):
    incident, api, people = staffed
    url = f"/api/v1/incidents/{incident.pk}/proposals/"
    severity = {"action": "severity", "severity": 1, "reason": "EU"}
    pk = api["sme"].post(url, severity, format="json").json()["id"]
    entries = _proposal_entries(incident)

    assert_error(api["sme"].post(f"{url}{pk}/approve/", {}, format="json"), 403)
    assert_error(api["sme"].post(f"{url}{pk}/reject/", {"answer": "no"}, format="json"), 403)
    assert Proposal.objects.get(pk=pk).state == "open"
    assert Incident.objects.get(pk=incident.pk).severity == 3
    assert _proposal_entries(incident) == entries

    secret = IncidentFactory(severity=3, is_security=True)
    outsider = TokenClient(UserFactory())
    secret_url = f"/api/v1/incidents/{secret.pk}/proposals/"
    assert_error(outsider.post(secret_url, severity, format="json"), 404)
    assert_error(outsider.get(secret_url), 404)
    assert_error(outsider.post(f"{secret_url}{pk}/approve/", {}, format="json"), 404)
    assert not secret.proposals.exists()


def test_the_ic_assigns_tasks_and_others_are_refused(staffed):
    incident, api, people = staffed
    url = f"/api/v1/incidents/{incident.pk}/tasks/"
    made = api["ic"].post(url, {"title": "Check the pool", "assignee": people["sme"].pk}, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["assignee"]["id"] == people["sme"].pk and made.json()["state"] == "open"
    task_entries = incident.timeline.filter(kind=TimelineEntry.Kind.TASK).count()

    mine = {"title": "Mine", "assignee": people["sme"].pk}
    body = assert_error(api["sme"].post(url, mine, format="json"), 403)
    assert "propose" in body["detail"]
    assert Task.objects.count() == 1
    assert incident.timeline.filter(kind=TimelineEntry.Kind.TASK).count() == task_entries

    moved = api["sme"].post(f"{url}{made.json()['id']}/move/", {"state": "doing"}, format="json")
    assert moved.status_code == 200 and moved.json()["state"] == "doing"
    assert [t["title"] for t in api["sme"].get(url).json()] == ["Check the pool"]

    secret = IncidentFactory(severity=3, is_security=True)
    outsider = TokenClient(UserFactory())
    assert_error(outsider.get(f"/api/v1/incidents/{secret.pk}/tasks/"), 404)
    assert_error(outsider.post(f"/api/v1/incidents/{secret.pk}/tasks/", mine, format="json"), 404)
    assert not secret.tasks.exists()


# --- Becoming major through the API and through an alert ---------------------------------------------


@pytest.fixture
def on_call_and_stakeholders(db):
    on_call = person("Olga Oncall")
    rotation(Schedule.objects.create(name="IC", role=IncidentRole.INCIDENT_COMMANDER), [on_call])
    boss = person("Bea Boss")
    Team.objects.create(name="SEV-1 Stakeholders", stakeholder_for=[1, 2]).members.add(boss)
    return on_call, boss


def _paged_and_told(incident) -> tuple[list, list]:
    """The IC pages, and who was told in each stakeholder message (one list per message)."""
    pages = list(Page.objects.filter(incident=incident, target=Page.Target.INCIDENT_COMMANDER))
    told = Message.objects.filter(incident=incident, dedup_key__startswith="major:stakeholders:")
    return pages, [{d.user for d in message.deliveries.all()} for message in told]


def test_declared_major_through_the_api_pages_the_ic_once_and_tells_the_stakeholders(
    on_call_and_stakeholders,
):
    on_call, boss = on_call_and_stakeholders
    api = TokenClient(UserFactory())
    response = api.post("/api/v1/incidents/", {"title": "Checkout down", "severity": 1}, format="json")
    assert response.status_code == 201, response.content
    incident = Incident.objects.get()
    pages, told = _paged_and_told(incident)
    assert len(pages) == 1 and on_call in pages[0].notified.all()
    assert told == [{boss}]


def test_raised_through_the_api_pages_the_ic_once_per_rise(on_call_and_stakeholders):
    on_call, boss = on_call_and_stakeholders
    api = TokenClient(UserFactory())
    pk = api.post("/api/v1/incidents/", {"title": "Slow search", "severity": 3}, format="json").json()["id"]
    incident = Incident.objects.get(pk=pk)
    assert _paged_and_told(incident) == ([], [])

    url = f"/api/v1/incidents/{pk}/severity/"
    assert api.post(url, {"severity": 1}, format="json").status_code == 200
    assert api.post(url, {"severity": 2, "note": "EU only"}, format="json").status_code == 200  # no new rise
    pages, told = _paged_and_told(incident)
    assert len(pages) == 1 and told == [{boss}]
    assert incident.timeline.filter(data__major_rise=True).count() == 1


def test_declared_major_by_an_alert_pages_the_ic_once_and_tells_the_stakeholders(
    client, on_call_and_stakeholders
):
    on_call, boss = on_call_and_stakeholders
    service = Service.objects.create(name="Database", primary_owner=UserFactory())
    for _ in range(3):  # Alertmanager re-sends the group
        response = post_alertmanager(client, payload("alertmanager_firing"), service.integration_key)
        assert response.status_code == 200, response.content
    incident = Incident.objects.get()
    assert incident.severity == 2  # "critical"
    pages, told = _paged_and_told(incident)
    assert len(pages) == 1 and on_call in pages[0].notified.all()
    assert told == [{boss}]
    assert incident.timeline.filter(data__major_rise=True).count() == 1
