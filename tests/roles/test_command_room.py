"""What the room says about command and control: the security checklist, the span of control, a
missing Incident Commander, names not usernames, and how a task reaches its assignee."""

import pytest

from comms.models import Message
from incidents.models import Participation
from roles.checklists import SECURITY_STEPS, checklist_for
from roles.models import IncidentRole, RoleAssignment, Task
from roles.services import role_assign, workstream_start
from tests.factories import IncidentFactory
from tests.roles.conftest import person

pytestmark = pytest.mark.django_db

IC = IncidentRole.INCIDENT_COMMANDER


def _room(client, incident, user) -> str:
    client.force_login(user)
    response = client.get(incident.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def _commanded(incident, name="Ida Commander"):
    ic = person(name)
    Participation.objects.create(incident=incident, user=ic)
    role_assign(incident=incident, role=IC, user=ic, by=None)
    return ic


# --- Security incidents: the checklist ------------------------------------------------------------


def test_a_security_incident_s_commander_sees_the_security_steps(client):
    secret = IncidentFactory(severity=1, is_security=True, rollback_considered="No")
    ordinary = IncidentFactory(severity=1, rollback_considered="No")
    ic = _commanded(secret)
    role_assign(incident=ordinary, role=IC, user=ic, by=None)
    steps = [item.text for item in SECURITY_STEPS[IC]]
    security_keys = {item.key for item in SECURITY_STEPS[IC]}
    assert security_keys <= {item.key for item in checklist_for(IC, security=True).items}

    room = _room(client, secret, ic)
    for text in steps:
        assert text in room
    ordinary_room = _room(client, ordinary, ic)
    assert not any(text in ordinary_room for text in steps)


def test_a_security_step_is_ticked_off_like_any_other(client):
    secret = IncidentFactory(severity=1, is_security=True, rollback_considered="No")
    ic = _commanded(secret)
    assignment = RoleAssignment.objects.get(incident=secret, role=IC)
    client.force_login(ic)
    client.post(
        f"/incidents/{secret.number}/roles/{assignment.pk}/checklist/", {"item": "sec-evidence", "done": "on"}
    )
    assignment.refresh_from_db()
    assert "sec-evidence" in assignment.checklist_done


# --- Span of control -------------------------------------------------------------------------------

SPAN_TEXT = "Past about 7 people one commander cannot follow everyone: split off sub-teams"


def _crowd(incident, total: int) -> list:
    """People taking part until `total` do (the declarer and the IC count)."""
    start = incident.participants.count()
    people = [person(f"Person{i} Crowd") for i in range(start, total)]
    for user in people:
        Participation.objects.create(incident=incident, user=user)
    assert incident.participants.count() == total
    return people


def test_past_seven_people_without_workstreams_the_room_suggests_splitting(client):
    incident = IncidentFactory(severity=2, rollback_considered="No")
    ic = _commanded(incident)
    _crowd(incident, 7)
    assert SPAN_TEXT not in _room(client, incident, ic)
    _crowd(incident, 8)
    room = _room(client, incident, ic)
    assert f"8 people take part and there is no workstream. {SPAN_TEXT}" in room


def test_with_a_workstream_the_room_no_longer_suggests_splitting(client):
    incident = IncidentFactory(severity=2, rollback_considered="No")
    ic = _commanded(incident)
    crowd = _crowd(incident, 9)
    assert SPAN_TEXT in _room(client, incident, ic)
    workstream_start(incident=incident, by=ic, name="Database", goal="Slow query", lead=crowd[0])
    assert SPAN_TEXT not in _room(client, incident, ic)


# --- No Incident Commander ---------------------------------------------------------------------------

NO_IC = "<strong>No Incident Commander:</strong> anyone may act; page one"


def test_the_room_says_when_nobody_commands(client):
    incident = IncidentFactory(severity=2, rollback_considered="No")
    bystander = person("Bo Bystander")
    assert NO_IC in _room(client, incident, bystander)
    _commanded(incident)
    assert NO_IC not in _room(client, incident, bystander)


# --- Names, not usernames ------------------------------------------------------------------------------


def test_signed_in_as_shows_the_full_name(client):
    client.force_login(person("Hana Holder", email="hana@example.com"))
    page = client.get("/").content.decode()
    assert 'title="Signed in as Hana Holder (hana@example.com)"' in page
    assert "Signed in as hana.holder" not in page


def test_the_handover_lists_new_holders_by_name(client):
    incident = IncidentFactory(severity=2, rollback_considered="No")
    ic = _commanded(incident)
    person("Nora Next")
    assignment = RoleAssignment.objects.get(incident=incident, role=IC)
    client.force_login(ic)
    page = client.get(f"/incidents/{incident.number}/roles/{assignment.pk}/handover/").content.decode()
    assert ">Nora Next</option>" in page
    assert "nora.next" not in page


# --- A task reaches its assignee -------------------------------------------------------------------------


def _channels(task: Task) -> set[str]:
    message = Message.objects.get(dedup_key=f"task:{task.pk}")
    return {d.channel.kind for d in message.deliveries.select_related("channel")}


def test_a_task_for_someone_in_the_room_rings_only_the_bell(client):
    incident = IncidentFactory(severity=2, rollback_considered="No")
    ic = _commanded(incident)
    here, away = person("Hal Here", email="hal@example.com"), person("Ava Away", email="ava@example.com")
    for user in (here, away):
        Participation.objects.create(incident=incident, user=user)
    _room(client, incident, here)  # Hal has the room open

    client.force_login(ic)
    for user in (here, away):
        client.post(
            f"/incidents/{incident.number}/tasks/", {"title": f"Check {user.first_name}", "assignee": user.pk}
        )
    assert _channels(Task.objects.get(assignee=here)) == {"in_app"}
    assert _channels(Task.objects.get(assignee=away)) == {"in_app", "email"}
