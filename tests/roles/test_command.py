"""Command and control: the IC decides, others propose; tasks, workstreams; becoming major; security."""

import pytest

from comms.models import Message
from incidents import services
from incidents.models import Incident, Participation
from incidents.permissions import may_decide, may_see_incident
from incidents.services import ProposeInstead
from incidents.services.tools import decision_record
from roles.models import IncidentRole, Page, Proposal, Schedule, Task, Team
from roles.services import (
    NotAllowed,
    RoleError,
    participant_let_in,
    participant_let_out,
    proposal_approve,
    proposal_make,
    proposal_reject,
    role_assign,
    task_assign,
    task_move,
    workstream_start,
)
from tests.factories import IncidentFactory, UserFactory
from tests.roles.conftest import person, rotation

pytestmark = pytest.mark.django_db

ROLES = [
    IncidentRole.INCIDENT_COMMANDER,
    IncidentRole.DEPUTY,
    IncidentRole.SCRIBE,
    IncidentRole.SUBJECT_MATTER_EXPERT,
    IncidentRole.CUSTOMER_LIAISON,
    IncidentRole.INTERNAL_LIAISON,
]


@pytest.fixture
def crew(db):
    """A SEV-2 with every role held, plus a bystander who takes part and an admin."""
    incident = IncidentFactory(severity=2, rollback_considered="No")
    people = {}
    for role in ROLES:
        people[role] = UserFactory(username=role)
        role_assign(incident=incident, role=role, user=people[role], by=None)
    people["participant"] = UserFactory(username="participant")
    Participation.objects.create(incident=incident, user=people["participant"])
    people["admin"] = UserFactory(username="admin", is_staff=True, is_superuser=True)
    return incident, people


# (action, how to do it directly) for every decision the IC owns.
ACTIONS = {
    "status": lambda incident, by: services.incident_change_status(
        incident=incident, status="investigating", by=by
    ),
    "raise severity": lambda incident, by: services.incident_change_severity(
        incident=incident, severity=1, by=by
    ),
    "lower severity": lambda incident, by: services.incident_change_severity(
        incident=incident, severity=3, by=by, note="Fewer customers than thought"
    ),
    "decline": lambda incident, by: services.incident_change_status(
        incident=incident, status="declined", by=by, note="A monitoring fluke"
    ),
    "repair decision": lambda incident, by: decision_record(
        incident=incident,
        by=by,
        kind="rollback",
        summary="Back to 4.1",
        reason="4.2 began it",
        rollback_to="4.1.9",
    ),
}
PROPOSALS = {
    "status": ("status", {"status": "investigating"}),
    "raise severity": ("severity", {"severity": 1}),
    "lower severity": ("severity", {"severity": 3}),
    "decline": ("status", {"status": "declined"}),
    "repair decision": ("decision", {"kind": "rollback", "summary": "Back to 4.1", "rollback_to": "4.1.9"}),
}
DECIDERS = {IncidentRole.INCIDENT_COMMANDER, IncidentRole.DEPUTY, "admin"}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("who", [*ROLES, "participant", "admin"])
def test_who_may_act_and_who_proposes(crew, action, who):
    """For every role and every decision: the IC, the deputy and admins act; everyone else proposes."""
    incident, people = crew
    by = people[who]
    if who in DECIDERS:
        ACTIONS[action](incident, by)
        assert may_decide(by, Incident.objects.get(pk=incident.pk))
        return
    with pytest.raises(ProposeInstead, match="propose it instead"):
        ACTIONS[action](incident, by)
    kind, payload = PROPOSALS[action]
    proposal = proposal_make(
        incident=incident, by=by, action=kind, payload=payload, reason="I see it in the logs"
    )
    assert proposal.state == Proposal.State.OPEN
    approved = proposal_approve(proposal=proposal, by=people[IncidentRole.INCIDENT_COMMANDER], note="Go")
    assert approved.state == Proposal.State.APPROVED


def test_with_no_ic_anyone_taking_part_acts(db):
    incident = IncidentFactory(severity=3)
    bystander = UserFactory()
    services.incident_change_severity(incident=incident, severity=2, by=bystander)
    assert Incident.objects.get(pk=incident.pk).severity == 2


def test_a_rejection_needs_a_reason_and_only_deciders_answer(crew):
    incident, people = crew
    sme = people[IncidentRole.SUBJECT_MATTER_EXPERT]
    proposal = proposal_make(
        incident=incident, by=sme, action="severity", payload={"severity": 1}, reason="EU down"
    )
    with pytest.raises(NotAllowed):
        proposal_approve(proposal=proposal, by=people[IncidentRole.SCRIBE])
    with pytest.raises(RoleError, match="Say why"):
        proposal_reject(proposal=proposal, by=people[IncidentRole.INCIDENT_COMMANDER], reason=" ")
    proposal_reject(proposal=proposal, by=people[IncidentRole.INCIDENT_COMMANDER], reason="US is fine")
    proposal.refresh_from_db()
    assert (proposal.state, proposal.answer) == ("rejected", "US is fine")
    assert Incident.objects.get(pk=incident.pk).severity == 2


def test_a_proposal_reaches_the_ic_s_bell(crew):
    incident, people = crew
    proposal_make(
        incident=incident,
        by=people["participant"],
        action="status",
        payload={"status": "identified"},
        reason="Found it",
    )
    notified = Message.objects.get(dedup_key__startswith="proposal:")
    assert {d.user for d in notified.deliveries.all()} >= {people[IncidentRole.INCIDENT_COMMANDER]}


def test_becoming_major_pages_the_ic_and_tells_stakeholders_once_per_rise(db):
    on_call = person("Olga Oncall")
    rotation(Schedule.objects.create(name="IC", role=IncidentRole.INCIDENT_COMMANDER), [on_call])
    exec_team = Team.objects.create(name="SEV-1 Stakeholders", stakeholder_for=[1, 2])
    boss = UserFactory(first_name="Bea", last_name="Boss")
    exec_team.members.add(boss)
    responder = UserFactory()
    incident = services.incident_declare(title="Slow search", severity=3, declared_by=responder)
    assert not Page.objects.exists()

    services.incident_change_severity(incident=incident, severity=1, by=responder)
    services.incident_change_severity(
        incident=incident, severity=2, by=responder, note="EU only"
    )  # no new rise
    assert Page.objects.filter(target=Page.Target.INCIDENT_COMMANDER).count() == 1
    told = Message.objects.filter(dedup_key__startswith="major:stakeholders:")
    assert told.count() == 1 and {d.user for d in told.get().deliveries.all()} == {boss}
    assert incident.timeline.filter(data__major_rise=True).count() == 1

    services.incident_change_severity(incident=incident, severity=3, by=responder, note="Contained")
    services.incident_change_severity(incident=incident, severity=1, by=responder)  # a second rise
    assert Page.objects.filter(target=Page.Target.INCIDENT_COMMANDER).count() == 2
    assert incident.timeline.filter(data__major_rise=True).count() == 2


def test_no_ic_is_paged_when_one_commands(crew):
    incident, people = crew
    services.incident_change_severity(incident=incident, severity=3, by=people["admin"], note="smaller")
    services.incident_change_severity(incident=incident, severity=1, by=people["admin"])
    assert not Page.objects.exists()


def test_a_security_incident_s_messages_carry_no_title(db):
    on_call = person("Olga Oncall")
    rotation(Schedule.objects.create(name="IC", role=IncidentRole.INCIDENT_COMMANDER), [on_call])
    secret = services.incident_declare(
        title="Signing key leaked SECRET-TITLE",
        severity=1,
        declared_by=UserFactory(),
        is_security=True,
        rollback_considered="No",
    )
    page = Message.objects.get(kind="page")
    assert "SECRET-TITLE" not in page.subject + page.body
    assert page.subject == f"[{secret.reference}] A restricted incident needs you"
    assert "Acknowledge:" in page.body


def test_the_ic_assigns_a_task_and_the_assignee_moves_it(crew):
    incident, people = crew
    ic, sme = people[IncidentRole.INCIDENT_COMMANDER], people[IncidentRole.SUBJECT_MATTER_EXPERT]
    task = task_assign(incident=incident, by=ic, title="Check the pool metrics", assignee=sme)
    message = Message.objects.get(dedup_key=f"task:{task.pk}")
    assert {d.channel.kind for d in message.deliveries.all()} >= {"in_app", "email"}  # not in the room
    with pytest.raises(NotAllowed):
        task_assign(incident=incident, by=sme, title="Mine", assignee=sme)
    task_move(task=task, by=sme, state="doing")
    task_move(task=task, by=sme, state="done")
    with pytest.raises(RoleError, match="cannot become"):
        task_move(task=task, by=ic, state="doing")
    assert Task.objects.get().state == "done"


def test_a_workstream_lead_runs_its_own_tasks(crew):
    incident, people = crew
    ic, lead, member = (
        people[IncidentRole.INCIDENT_COMMANDER],
        people[IncidentRole.SCRIBE],
        people["participant"],
    )
    stream = workstream_start(
        incident=incident, by=ic, name="Database", goal="Find the slow query", lead=lead, members=[member]
    )
    task = task_assign(
        incident=incident, by=lead, title="EXPLAIN the top query", assignee=member, workstream=stream
    )
    task_move(task=task, by=lead, state="dropped")
    with pytest.raises(NotAllowed):
        task_assign(incident=incident, by=lead, title="Outside it", assignee=member)
    entries = incident.timeline.filter(data__workstream=stream.pk)
    assert entries.count() == 3  # started, assigned, dropped
    with pytest.raises(NotAllowed):
        workstream_start(incident=incident, by=member, name="Other", goal="x", lead=member)


def test_the_ic_lets_people_into_a_security_incident_and_out(db):
    ic, outsider = UserFactory(), UserFactory()
    secret = IncidentFactory(severity=1, is_security=True)
    Participation.objects.create(incident=secret, user=ic)
    role_assign(incident=secret, role=IncidentRole.INCIDENT_COMMANDER, user=ic, by=None)
    assert not may_see_incident(outsider, secret)
    with pytest.raises(NotAllowed):
        participant_let_in(incident=secret, person=outsider, by=outsider, reason="curious")
    participant_let_in(incident=secret, person=outsider, by=ic, reason="Owns the signing service")
    assert may_see_incident(outsider, secret)
    participant_let_out(incident=secret, person=outsider, by=ic, reason="Done with the keys")
    assert not may_see_incident(outsider, secret)
    assert secret.timeline.filter(data__removed=True).get().body.endswith("Done with the keys")


def test_resolving_and_reopening_redraw_the_roles_and_command_panels(
    client, crew, django_capture_on_commit_callbacks
):
    from tests.incidents.pages import oob_targets

    incident, people = crew
    ic = people[IncidentRole.INCIDENT_COMMANDER]
    client.force_login(ic)
    incident.refresh_from_db()
    seen = incident.revision
    with django_capture_on_commit_callbacks(execute=True):  # the room's cached revision moves on commit
        services.incident_change_status(incident=incident, status="declined", by=ic, note="A bad check")
    poll = client.get(f"/incidents/{incident.number}/poll/", {"id": incident.pk, "rev": seen})
    assert {"room-roles", "room-command"} <= set(oob_targets(poll))
    incident.refresh_from_db()
    seen = incident.revision
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_reopen(incident=incident, by=ic, reason="It is back")
    poll = client.get(f"/incidents/{incident.number}/poll/", {"id": incident.pk, "rev": seen})
    assert {"room-roles", "room-command"} <= set(oob_targets(poll))
