"""A workstream's lead has IC-like rights inside it: its members' task proposals are the lead's to
answer; what acts on the whole incident (severity, status, the repair decision) stays the IC's."""

import pytest

from incidents.models import Incident, Participation, TimelineEntry
from roles.models import IncidentRole, Proposal, Task
from roles.services import (
    NotAllowed,
    proposal_approve,
    proposal_make,
    proposal_reject,
    role_assign,
    workstream_start,
)
from tests.api.conftest import TokenClient, assert_error
from tests.factories import IncidentFactory
from tests.roles.conftest import person

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(db):
    """A SEV-2 with an IC, a Database workstream (Lena leads, Milo is a member) and Otto, who takes part."""
    incident = IncidentFactory(severity=2, rollback_considered="No")
    people = {name: person(name) for name in ("Ida Commander", "Lena Lead", "Milo Member", "Otto Other")}
    for user in people.values():
        Participation.objects.create(incident=incident, user=user)
    ic = people["Ida Commander"]
    role_assign(incident=incident, role=IncidentRole.INCIDENT_COMMANDER, user=ic, by=None)
    stream = workstream_start(
        incident=incident,
        by=people["Ida Commander"],
        name="Database",
        goal="Find the slow query",
        lead=people["Lena Lead"],
        members=[people["Milo Member"]],
    )
    return incident, stream, people


def test_the_lead_approves_a_members_task_proposal(team):
    incident, stream, people = team
    proposal = proposal_make(
        incident=incident,
        by=people["Milo Member"],
        action="task",
        payload={"title": "EXPLAIN the top query"},
        reason="It scans the whole table",
        workstream=stream,
    )
    proposal_approve(proposal=proposal, by=people["Lena Lead"])

    task = Task.objects.get()
    assert (task.title, task.assignee, task.workstream) == (
        "EXPLAIN the top query",
        people["Milo Member"],
        stream,
    )
    assert Proposal.objects.get().state == "approved"
    entries = incident.timeline.filter(kind=TimelineEntry.Kind.PROPOSAL).order_by("pk")
    assert [e.body.split("\n")[0] for e in entries] == [
        "Proposes: Give Milo Member a task: EXPLAIN the top query",
        "Approved: Give Milo Member a task: EXPLAIN the top query",
    ]
    assert {e.data.get("workstream") for e in entries} == {stream.pk}


def test_the_lead_may_not_answer_what_acts_on_the_whole_incident(team):
    incident, stream, people = team
    lead = people["Lena Lead"]
    raise_it = proposal_make(
        incident=incident,
        by=people["Milo Member"],
        action="severity",
        payload={"severity": 1},
        reason="All of EU",
        workstream=stream,
    )
    roll_back = proposal_make(
        incident=incident,
        by=people["Milo Member"],
        action="decision",
        payload={"kind": "rollback", "summary": "Back to 4.1", "rollback_to": "4.1.9"},
        reason="4.2 began it",
        workstream=stream,
    )
    for proposal in (raise_it, roll_back):
        with pytest.raises(NotAllowed, match="Incident Commander"):
            proposal_approve(proposal=proposal, by=lead)
        with pytest.raises(NotAllowed):
            proposal_reject(proposal=proposal, by=lead, reason="Not yet")
    assert Incident.objects.get(pk=incident.pk).severity == 2
    assert set(Proposal.objects.values_list("state", flat=True)) == {"open"}

    proposal_approve(proposal=raise_it, by=people["Ida Commander"])  # the IC's call
    assert Incident.objects.get(pk=incident.pk).severity == 1
    proposal_approve(proposal=roll_back, by=people["Ida Commander"])
    approved = incident.timeline.filter(kind=TimelineEntry.Kind.PROPOSAL, body__startswith="Approved")
    assert [e.data["workstream"] for e in approved] == [stream.pk, stream.pk]
    # The decision it took shows in the workstream's slice too.
    decision = incident.timeline.get(kind=TimelineEntry.Kind.DECISION, data__decision_kind="rollback")
    assert decision.data["workstream"] == stream.pk


def test_only_the_workstream_s_people_and_deciders_file_under_it(team):
    incident, stream, people = team
    with pytest.raises(NotAllowed, match="members of Database"):
        proposal_make(
            incident=incident,
            by=people["Otto Other"],
            action="task",
            payload={"title": "Vacuum"},
            reason="Bloat",
            workstream=stream,
        )
    assert not Proposal.objects.exists()
    assert not incident.timeline.filter(kind=TimelineEntry.Kind.PROPOSAL).exists()
    # Untagged, Otto's task proposal is the IC's: the lead may not answer it.
    untagged = proposal_make(
        incident=incident, by=people["Otto Other"], action="task", payload={"title": "Vacuum"}, reason="Bloat"
    )
    with pytest.raises(NotAllowed):
        proposal_approve(proposal=untagged, by=people["Lena Lead"])
    proposal_make(
        incident=incident,
        by=people["Ida Commander"],
        action="task",
        payload={"title": "Vacuum", "assignee": people["Milo Member"].pk},
        reason="Bloat",
        workstream=stream,
    )


def test_the_room_files_a_proposal_under_a_workstream_and_the_lead_answers_it(client, team):
    incident, stream, people = team
    client.force_login(people["Milo Member"])
    room = client.get(incident.get_absolute_url()).content.decode()
    assert 'name="workstream"' in room and 'aria-label="Proposed task"' in room
    response = client.post(
        f"/incidents/{incident.number}/proposals/",
        {"action": "task", "title": "Add the missing index", "workstream": stream.pk, "reason": "Seq scan"},
    )
    assert response.status_code == 302
    proposal = Proposal.objects.get()
    assert proposal.workstream == stream

    client.force_login(people["Lena Lead"])
    room = client.get(incident.get_absolute_url()).content.decode()
    assert "Give Milo Member a task: Add the missing index" in room
    assert f"/proposals/{proposal.pk}/approve/" in room
    client.post(f"/incidents/{incident.number}/proposals/{proposal.pk}/approve/", {"answer": ""})
    assert Task.objects.get().workstream == stream

    other = IncidentFactory()  # a workstream of another incident is refused, nothing written
    client.force_login(people["Milo Member"])
    client.post(
        f"/incidents/{incident.number}/proposals/",
        {"action": "task", "title": "x", "workstream": stream.pk + 999, "reason": "y"},
    )
    assert Proposal.objects.count() == 1 and other.proposals.count() == 0


def test_the_api_files_a_task_proposal_under_a_workstream(team):
    incident, stream, people = team
    member, lead = TokenClient(people["Milo Member"]), TokenClient(people["Lena Lead"])
    url = f"/api/v1/incidents/{incident.pk}/proposals/"
    assert_error(
        member.post(
            url, {"action": "task", "title": "x", "workstream": 424242, "reason": "y"}, format="json"
        ),
        400,
    )
    assert not Proposal.objects.exists()
    response = member.post(
        url,
        {"action": "task", "title": "Add the index", "workstream": stream.pk, "reason": "Seq scan"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["workstream"], body["payload"]["assignee"]) == (stream.pk, people["Milo Member"].pk)
    answer = lead.post(f"{url}{body['id']}/approve/", {}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["state"] == "approved"
    assert Task.objects.get().workstream == stream
