"""Every "may X do Y" rule, for every kind of person who could ask.

One table per rule: the rule is written once (each app's permissions.py) and
this is where what it answers for each role is pinned down.
"""

import pytest
from django.contrib.auth.models import AnonymousUser, Permission
from django.utils import timezone

from accounts import permissions as accounts_permissions
from accounts.services import api_token_issue
from comms import permissions as comms_permissions
from customers import permissions as customers_permissions
from incidents import permissions as incidents_permissions
from incidents.models import Participation
from incidents.services import IncidentError, timeline_add, tools
from integrations import permissions as integrations_permissions
from roles import permissions as roles_permissions
from roles.models import IncidentRole, Proposal, RoleAssignment, Workstream
from statuspage import permissions as statuspage_permissions
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db

PEOPLE = [
    "anonymous",
    "inactive",
    "outsider",
    "participant",
    "commander",
    "deputy",
    "scribe",
    "customer_liaison",
    "internal_liaison",
    "staff",
    "superuser",
    "outbox_reader",
]
# Admins: staff, superusers, and the staff member given the outbox permission.
ADMINS = {"staff", "superuser", "outbox_reader"}
HOLDERS = {
    "commander": IncidentRole.INCIDENT_COMMANDER,
    "deputy": IncidentRole.DEPUTY,
    "scribe": IncidentRole.SCRIBE,
    "customer_liaison": IncidentRole.CUSTOMER_LIAISON,
    "internal_liaison": IncidentRole.INTERNAL_LIAISON,
}


@pytest.fixture
def world():
    """A restricted incident, staffed, and one person of each kind."""
    incident = IncidentFactory(title="[Security]: leaked key", severity=1, is_security=True)
    people = {"anonymous": AnonymousUser()}
    for kind in PEOPLE[1:]:
        people[kind] = UserFactory(
            username=kind,
            is_active=kind != "inactive",
            is_staff=kind in ("staff", "superuser", "outbox_reader"),
            is_superuser=kind == "superuser",
        )
    people["outbox_reader"].user_permissions.add(Permission.objects.get(codename="view_outbox"))
    for kind in ("participant", *HOLDERS, "inactive"):
        Participation.objects.create(incident=incident, user=people[kind])
    for kind, role in HOLDERS.items():
        RoleAssignment.objects.create(incident=incident, role=role, user=people[kind])
    return incident, people


def _answers(world, rule) -> set[str]:
    incident, people = world
    return {kind for kind in PEOPLE if rule(people[kind], incident)}


def test_who_sees_a_restricted_incident(world):
    assert _answers(world, incidents_permissions.may_see_incident) == {
        "participant",
        *HOLDERS,
        *ADMINS,
    }


def test_who_sees_an_ordinary_incident(world):
    incident, people = world
    ordinary = IncidentFactory(title="[Outage]: checkout", severity=3)
    seen = {kind for kind in PEOPLE if incidents_permissions.may_see_incident(people[kind], ordinary)}
    assert seen == set(PEOPLE) - {"anonymous", "inactive"}


def test_who_edits_or_strikes_an_entry(world):
    incident, people = world
    entry = timeline_add(incident=incident, kind="note", body="DB looks fine", author=people["scribe"])
    allowed = {kind for kind in PEOPLE if incidents_permissions.may_edit_entry(people[kind], entry)}
    assert allowed == {"scribe", *ADMINS}


# Who works an incident's response tools, and who decides with them. WORKERS may see it;
# DECIDERS, while an Incident Commander is assigned, are the IC, the deputy and admins.
WORKERS = {"participant", *HOLDERS, *ADMINS}
DECIDERS = {"commander", "deputy", *ADMINS}


def _hypothesis(incident):
    return tools.hypothesis_raise(incident=incident, by=None, statement="The database")


def _decision(incident):
    return tools.decision_record(incident=incident, by=None, kind="fix", summary="Fix", reason="y")


def _change(incident):
    return tools.change_record(incident=incident, by=None, what="pool", where="db", new_value="80")


TOOL_TRANSITIONS = {
    "raise a hypothesis": (WORKERS, lambda i, by: tools.hypothesis_raise(incident=i, by=by, statement="DNS")),
    "confirm or rule out a hypothesis": (
        WORKERS,
        lambda i, by: tools.hypothesis_decide(
            hypothesis=_hypothesis(i), by=by, state="ruled_out", evidence="logs"
        ),
    ),
    "record a change": (
        WORKERS,
        lambda i, by: tools.change_record(incident=i, by=by, what="flag", where="LD", new_value="off"),
    ),
    "restore a change": (WORKERS, lambda i, by: tools.change_restore(change=_change(i), by=by)),
    "record a verification": (
        WORKERS,
        lambda i, by: tools.verification_record(incident=i, by=by, checked="checkout works"),
    ),
    "record a repair decision": (
        DECIDERS,
        lambda i, by: tools.decision_record(incident=i, by=by, kind="patch", summary="Patch", reason="y"),
    ),
    "close a decision done or abandoned": (
        DECIDERS,
        lambda i, by: tools.decision_close(decision=_decision(i), by=by, state="abandoned"),
    ),
    "keep a change as the new normal": (DECIDERS, lambda i, by: tools.change_keep(change=_change(i), by=by)),
    "answer the rollback question": (
        DECIDERS,
        lambda i, by: tools.rollback_question_answer(incident=i, by=by, answer="No: data moved"),
    ),
}


def test_who_works_the_response_tools_and_who_decides_with_them(world):
    assert _answers(world, incidents_permissions.may_work) == WORKERS
    assert _answers(world, incidents_permissions.may_decide) == DECIDERS


@pytest.mark.parametrize("transition", list(TOOL_TRANSITIONS))
def test_who_makes_each_response_tool_transition(world, transition):
    """Through the service, as the room, the API and chat call it: a refusal writes nothing."""
    allowed, make = TOOL_TRANSITIONS[transition]
    incident, people = world
    made = set()
    for kind in PEOPLE:
        entries = incident.timeline.count()
        try:
            make(incident, people[kind])
        except IncidentError:
            # Only the portal's set-up entry (the record acted on) may have been written.
            assert incident.timeline.count() <= entries + 1
            continue
        made.add(kind)
    assert made == allowed
    # With no Incident Commander assigned, whoever works the incident decides too.
    RoleAssignment.objects.filter(role=IncidentRole.INCIDENT_COMMANDER).update(ended_at=timezone.now())
    assert {kind for kind in PEOPLE if _makes(make, incident, people[kind])} == WORKERS


def _makes(make, incident, person) -> bool:
    try:
        make(incident, person)
    except IncidentError:
        return False
    return True


def test_who_assigns_roles(world):
    holders = roles_permissions.holders_of(world[0])
    assert _answers(world, lambda user, _i: roles_permissions.may_assign_roles(user, holders)) == {
        "commander",
        "deputy",
        *ADMINS,
    }


def _workstream(world) -> Workstream:
    """A sub-team of the restricted incident: the scribe leads it, the participant is a member."""
    incident, people = world
    stream = Workstream.objects.create(incident=incident, name="Keys", goal="Rotate", lead=people["scribe"])
    stream.members.add(people["participant"])
    return stream


def test_who_files_a_proposal_under_a_workstream(world):
    stream = _workstream(world)
    rule = roles_permissions.may_propose_in_workstream
    assert _answers(world, lambda user, incident: rule(user, incident, stream)) == {
        "scribe",
        "participant",
        "commander",
        "deputy",
        *ADMINS,
    }
    stream.closed_at = timezone.now()
    assert _answers(world, lambda user, incident: rule(user, incident, stream)) == set()


@pytest.mark.parametrize(
    "action, answerers",
    [
        # Work inside the sub-team: the lead answers too.
        (Proposal.Action.TASK, {"scribe", "commander", "deputy", *ADMINS}),
        # What acts on the whole incident stays the IC's, even tagged to the workstream.
        (Proposal.Action.SEVERITY, {"commander", "deputy", *ADMINS}),
        (Proposal.Action.STATUS, {"commander", "deputy", *ADMINS}),
        (Proposal.Action.DECISION, {"commander", "deputy", *ADMINS}),
    ],
)
def test_who_answers_a_proposal_filed_under_a_workstream(world, action, answerers):
    incident, people = world
    proposal = Proposal.objects.create(
        incident=incident,
        action=action,
        reason="x",
        proposed_by=people["participant"],
        workstream=_workstream(world),
    )
    rule = roles_permissions.may_answer_proposal
    assert _answers(world, lambda user, incident: rule(user, incident, proposal)) == answerers


def test_who_sends_the_executive_summary(world):
    holders = roles_permissions.holders_of(world[0])
    rule = roles_permissions.may_send_executive_summary
    assert _answers(world, lambda user, _i: rule(user, holders)) == {"internal_liaison", *ADMINS}


def test_the_commander_sends_the_summary_when_nobody_is_internal_liaison(world):
    incident, _people = world
    RoleAssignment.objects.filter(role=IncidentRole.INTERNAL_LIAISON).update(ended_at=timezone.now())
    holders = roles_permissions.holders_of(incident)
    rule = roles_permissions.may_send_executive_summary
    assert _answers(world, lambda user, _i: rule(user, holders)) == {"commander", *ADMINS}


def test_who_publishes_a_public_update(world):
    assert _answers(world, statuspage_permissions.may_publish_for) == {
        "commander",
        "deputy",
        "customer_liaison",
        *ADMINS,
    }


def test_who_sets_a_component_status_by_hand(world):
    rule = statuspage_permissions.may_set_component_status
    assert _answers(world, lambda user, _i: rule(user)) == {*ADMINS}


def test_who_reads_the_whole_outbox(world):
    rule = comms_permissions.may_read_whole_outbox
    assert _answers(world, lambda user, _i: rule(user)) == {"superuser", "outbox_reader"}


def test_who_opens_the_outbox_at_all(world):
    rule = comms_permissions.may_use_outbox
    assert _answers(world, lambda user, _i: rule(user)) == {"commander", "superuser", "outbox_reader"}


def test_who_reads_an_incidents_messages(world):
    holders = roles_permissions.holders_of(world[0])
    rule = roles_permissions.may_read_incident_outbox
    assert _answers(world, lambda user, _i: rule(user, holders)) == {
        "commander",
        "superuser",
        "outbox_reader",
    }


def test_a_commander_reads_only_the_incidents_they_command_now(world):
    incident, people = world
    assert list(roles_permissions.commanded_incidents(people["commander"])) == [incident]
    RoleAssignment.objects.filter(role=IncidentRole.INCIDENT_COMMANDER).update(ended_at=timezone.now())
    assert list(roles_permissions.commanded_incidents(people["commander"])) == []
    assert not comms_permissions.may_use_outbox(people["commander"])


def test_who_configures_integrations(world):
    rule = integrations_permissions.may_manage_integrations
    assert _answers(world, lambda user, _i: rule(user)) == {*ADMINS}


def test_who_revokes_a_token(world):
    _incident, people = world
    token, _secret = api_token_issue(user=people["scribe"], name="script")
    allowed = {kind for kind in PEOPLE if accounts_permissions.may_revoke_token(people[kind], token)}
    assert allowed == {"scribe", "superuser"}


def test_who_speaks_to_customers(world):
    # Direct updates, calls, the affected list, follow-ups (the on-call responder too: tests/customers).
    assert _answers(world, customers_permissions.may_contact_customers) == {
        "commander",
        "deputy",
        "customer_liaison",
        *ADMINS,
    }


def test_who_reads_and_who_keeps_customer_records(world):
    read = _answers(world, lambda user, _i: customers_permissions.may_read_customers(user))
    assert read == set(PEOPLE) - {"anonymous", "inactive"}
    keep = _answers(world, lambda user, _i: customers_permissions.may_manage_customers(user))
    assert keep == {"superuser"}  # or staff given the customers permission


def test_who_edits_a_persons_notification_rules(world):
    # The participant's own rules: they and superusers; staff alone is not enough.
    _incident, people = world
    rule = roles_permissions.may_edit_notification_rules
    owner = people["participant"]
    assert _answers(world, lambda user, _i: rule(user, owner)) == {"participant", "superuser"}


def test_the_top_bar_offers_the_outbox_to_those_who_may_read_it(world, client):
    _incident, people = world
    for kind in ("participant", "commander", "staff", "superuser", "outbox_reader"):
        client.force_login(people[kind])
        shown = 'href="/comms/outbox/"' in client.get("/").content.decode()
        assert shown == comms_permissions.may_read_whole_outbox(people[kind]), kind
