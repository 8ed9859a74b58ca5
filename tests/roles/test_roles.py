"""Incident roles: who may assign, taking an empty role, checklists, the room's panel."""

import pytest
from django.urls import reverse

from incidents.models import TimelineEntry
from roles.models import IncidentRole, RoleAssignment
from roles.services import NotAllowed, RoleError, checklist_tick, role_assign, role_release
from tests.roles.conftest import person

IC = IncidentRole.INCIDENT_COMMANDER


def holders(incident):
    return {
        a.role: a.user.first_name
        for a in RoleAssignment.objects.filter(incident=incident, ended_at__isnull=True)
    }


def test_anyone_may_take_a_role_nobody_holds_while_no_ic_is_assigned(incident, otto):
    role_assign(incident=incident, role=IncidentRole.SCRIBE, user=otto, by=otto)
    assert holders(incident) == {IncidentRole.SCRIBE: "Otto"}
    entry = incident.timeline.filter(kind=TimelineEntry.Kind.ROLE).first()
    assert entry.body == "Otto Outsider is now Scribe"


def test_taking_command_yourself_needs_training_or_a_place_on_an_ic_schedule(incident, otto, iris):
    # Taking a role is not a back door (issue 13): Otto is neither trained nor on call.
    with pytest.raises(NotAllowed, match="Taking command needs"):
        role_assign(incident=incident, role=IC, user=otto, by=otto)
    assert holders(incident) == {}
    role_assign(incident=incident, role=IC, user=iris, by=iris)  # trained
    assert holders(incident) == {IC: "Iris"}


def test_a_person_on_an_ic_schedule_may_take_command(incident, otto):
    from roles.models import Schedule
    from tests.roles.conftest import rotation

    rotation(Schedule.objects.create(name="IC", role=IC), [otto])
    role_assign(incident=incident, role=IC, user=otto, by=otto)
    assert holders(incident) == {IC: "Otto"}


def test_once_an_ic_is_assigned_nobody_takes_a_role_on_their_own(incident, iris, otto):
    role_assign(incident=incident, role=IC, user=iris, by=iris)
    with pytest.raises(NotAllowed, match="they \\(or the Deputy\\) give the roles"):
        role_assign(incident=incident, role=IncidentRole.CUSTOMER_LIAISON, user=otto, by=otto)
    role_assign(incident=incident, role=IncidentRole.CUSTOMER_LIAISON, user=otto, by=iris)
    assert holders(incident)[IncidentRole.CUSTOMER_LIAISON] == "Otto"


def test_a_held_role_cannot_be_taken_by_someone_else(incident, iris, otto):
    role_assign(incident=incident, role=IC, user=iris, by=iris)
    with pytest.raises(NotAllowed, match="There is an Incident Commander already"):
        role_assign(incident=incident, role=IC, user=otto, by=otto)
    assert holders(incident) == {IC: "Iris"}


def test_others_cannot_assign_people(incident, otto, sam):
    with pytest.raises(NotAllowed):
        role_assign(incident=incident, role=IncidentRole.SCRIBE, user=sam, by=otto)
    assert holders(incident) == {}


@pytest.mark.parametrize("assigner_role", [IncidentRole.INCIDENT_COMMANDER, IncidentRole.DEPUTY])
def test_the_ic_and_the_deputy_assign_and_reassign(incident, iris, dev, sam, otto, assigner_role):
    role_assign(incident=incident, role=assigner_role, user=iris, by=None)
    role_assign(incident=incident, role=IncidentRole.SCRIBE, user=sam, by=iris)
    role_assign(incident=incident, role=IncidentRole.SCRIBE, user=otto, by=iris)
    assert holders(incident)[IncidentRole.SCRIBE] == "Otto"
    history = RoleAssignment.objects.filter(incident=incident, role=IncidentRole.SCRIBE).order_by("pk")
    assert [(a.user.first_name, a.ended_at is not None) for a in history] == [("Sam", True), ("Otto", False)]
    assert incident.timeline.filter(body__contains="taking over from Sam Scribe").exists()


def test_an_admin_assigns(incident, admin, sam):
    role_assign(incident=incident, role=IC, user=sam, by=admin)
    assert holders(incident) == {IC: "Sam"}


def test_assigning_an_inactive_user_is_refused_and_changes_nothing(incident, iris):
    gone = person("Gone Away", is_active=False)
    role_assign(incident=incident, role=IC, user=iris, by=iris)
    entries = incident.timeline.count()
    with pytest.raises(RoleError, match="Gone Away is not an active user and cannot hold a role."):
        role_assign(incident=incident, role=IncidentRole.SCRIBE, user=gone, by=iris)
    assert holders(incident) == {IC: "Iris"}
    assert incident.timeline.count() == entries


def test_several_experts_and_anyone_may_join_as_one(incident, iris, otto, sam):
    role_assign(incident=incident, role=IncidentRole.SUBJECT_MATTER_EXPERT, user=sam, by=sam)
    role_assign(incident=incident, role=IncidentRole.SUBJECT_MATTER_EXPERT, user=otto, by=otto)
    assert RoleAssignment.objects.filter(incident=incident, role="sme", ended_at__isnull=True).count() == 2


def test_release_by_the_holder_or_the_ic_only(incident, iris, sam, otto):
    role_assign(incident=incident, role=IC, user=iris, by=iris)
    scribe = role_assign(incident=incident, role=IncidentRole.SCRIBE, user=sam, by=iris)
    with pytest.raises(NotAllowed):
        role_release(assignment=scribe, by=otto)
    role_release(assignment=scribe, by=sam)
    assert IncidentRole.SCRIBE not in holders(incident)
    with pytest.raises(RoleError, match="released already"):
        role_release(assignment=scribe, by=iris)


def test_the_holder_ticks_their_checklist(incident, iris, otto):
    assignment = role_assign(incident=incident, role=IC, user=iris, by=iris)
    checklist_tick(assignment=assignment, item="span-of-control", done=True, by=iris)
    checklist_tick(assignment=assignment, item="announce", done=True, by=iris)
    assignment.refresh_from_db()
    assert assignment.checklist_done == ["announce", "span-of-control"]
    checklist_tick(assignment=assignment, item="announce", done=False, by=iris)
    assignment.refresh_from_db()
    assert assignment.checklist_done == ["span-of-control"]
    with pytest.raises(NotAllowed):
        checklist_tick(assignment=assignment, item="announce", done=True, by=otto)
    with pytest.raises(RoleError, match="not an item"):
        checklist_tick(assignment=assignment, item="announce-on-twitter", done=True, by=iris)


def test_the_room_shows_holders_and_my_checklist(client, incident, iris, sam):
    role_assign(incident=incident, role=IC, user=iris, by=iris)
    role_assign(incident=incident, role=IncidentRole.SCRIBE, user=sam, by=iris)
    client.force_login(sam)
    html = client.get(incident.get_absolute_url()).content.decode()
    assert 'id="room-roles"' in html
    assert "Iris Commander" in html and "Sam Scribe" in html
    assert "Your checklist: Scribe" in html
    assert "Add notes when significant actions are taken" in html
    assert "Your checklist: Incident Commander" not in html
    assert "Page IC" in html


def test_ticking_through_the_room(client, incident, sam):
    assignment = role_assign(incident=incident, role=IncidentRole.SCRIBE, user=sam, by=sam)
    client.force_login(sam)
    url = reverse("roles:checklist", args=[incident.number, assignment.pk])
    response = client.post(url, {"item": "notes", "done": "on"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'id="room-roles"' in response.content.decode()
    assignment.refresh_from_db()
    assert assignment.checklist_done == ["notes"]


def test_assigning_through_the_room(client, incident, iris, sam):
    role_assign(incident=incident, role=IC, user=iris, by=iris)
    client.force_login(iris)
    url = reverse("roles:assign", args=[incident.number])
    response = client.post(url, {"role": "scribe", "user": sam.pk}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert holders(incident)[IncidentRole.SCRIBE] == "Sam"


def test_the_room_refuses_with_a_message(client, incident, iris, sam, otto):
    role_assign(incident=incident, role=IC, user=iris, by=iris)
    client.force_login(otto)
    url = reverse("roles:assign", args=[incident.number])
    response = client.post(url, {"role": "scribe", "user": sam.pk}, headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert (
        "Only the Incident Commander, the Deputy or an admin gives roles to others"
        in response.content.decode()
    )
    assert IncidentRole.SCRIBE not in holders(incident)


def test_assigning_an_inactive_user_in_the_room_is_a_clear_4xx(client, incident, iris):
    gone = person("Gone Away", is_active=False)
    role_assign(incident=incident, role=IC, user=iris, by=iris)
    client.force_login(iris)
    url = reverse("roles:assign", args=[incident.number])
    response = client.post(url, {"role": "scribe", "user": gone.pk}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "Gone Away is not an active user" in response.content.decode()


def test_restricted_incident_role_endpoints_are_404_for_outsiders(client, security_incident, iris, otto):
    assignment = role_assign(incident=security_incident, role=IC, user=iris, by=iris)
    client.force_login(otto)
    number = security_incident.number
    for url, data in [
        (reverse("roles:assign", args=[number]), {"role": "scribe", "user": otto.pk}),
        (reverse("roles:release", args=[number, assignment.pk]), {}),
        (reverse("roles:checklist", args=[number, assignment.pk]), {"item": "announce", "done": "on"}),
        (reverse("roles:page_ic", args=[number]), {}),
        (reverse("roles:page", args=[number]), {"target": f"person:{iris.pk}"}),
    ]:
        assert client.post(url, data).status_code == 404, url
    for url in [
        reverse("roles:handover", args=[number, assignment.pk]),
        reverse("roles:executive_summary", args=[number]),
    ]:
        assert client.get(url).status_code == 404, url
    assert holders(security_incident) == {IC: "Iris"}
