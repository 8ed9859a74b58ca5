"""A workstream's own slice of the timeline: the room's `?workstream=` view shows the entries tagged to
it (its notes from the composer, its tasks, its proposals), and nothing else."""

import re

import pytest

from incidents.models import Participation, TimelineEntry
from roles.models import IncidentRole
from roles.services import proposal_make, role_assign, task_assign, workstream_start
from tests.factories import IncidentFactory, UserFactory
from tests.roles.conftest import person

pytestmark = pytest.mark.django_db


def _entries(html: str) -> list[str]:
    return re.findall(r'<article id="entry-(\d+)"', html)


@pytest.fixture
def split(db):
    incident = IncidentFactory(severity=2, rollback_considered="No", is_security=True)
    ic, lead, member = person("Ida Commander"), person("Lena Lead"), person("Milo Member")
    for user in (ic, lead, member):
        Participation.objects.create(incident=incident, user=user)
    role_assign(incident=incident, role=IncidentRole.INCIDENT_COMMANDER, user=ic, by=None)
    database = workstream_start(
        incident=incident, by=ic, name="Database", goal="Slow query", lead=lead, members=[member]
    )
    network = workstream_start(incident=incident, by=ic, name="Network", goal="Packet loss", lead=ic)
    return incident, database, network, {"ic": ic, "lead": lead, "member": member}


def test_the_composer_tags_a_note_to_a_workstream_and_its_slice_shows_only_its_entries(client, split):
    incident, database, network, people = split
    client.force_login(people["member"])
    room = client.get(incident.get_absolute_url()).content.decode()
    assert 'aria-label="Entry\'s workstream"' in room and ">Database</option>" in room

    client.post(
        f"/incidents/{incident.number}/timeline/",
        {"kind": "note", "body": "Seq scan on orders", "workstream": database.pk},
    )
    client.post(f"/incidents/{incident.number}/timeline/", {"kind": "note", "body": "Customers calling"})
    client.post(
        f"/incidents/{incident.number}/timeline/",
        {"kind": "note", "body": "Router flaps", "workstream": network.pk},
    )
    tagged = TimelineEntry.objects.get(body="Seq scan on orders")
    assert tagged.data == {"workstream": database.pk}
    lead, member = people["lead"], people["member"]
    task_assign(incident=incident, by=lead, title="Add the index", assignee=member, workstream=database)
    proposal_make(
        incident=incident,
        by=people["member"],
        action="task",
        payload={"title": "Vacuum orders"},
        reason="Bloat",
        workstream=database,
    )

    page = client.get(incident.get_absolute_url(), {"workstream": database.pk}).content.decode()
    expected = incident.timeline.filter(data__workstream=database.pk)
    assert sorted(_entries(page)) == sorted(str(pk) for pk in expected.values_list("pk", flat=True))
    assert "Only this workstream's entries: Database." in page
    for text in ("Seq scan on orders", "Add the index", "Vacuum orders", "Workstream Database"):
        assert text in page
    for text in ("Customers calling", "Router flaps", "Workstream Network"):
        assert text not in page
    whole = client.get(incident.get_absolute_url()).content.decode()
    assert "Customers calling" in whole and "Router flaps" in whole


def test_a_note_is_tagged_only_to_an_open_workstream_of_its_incident(client, split):
    incident, database, _network, people = split
    elsewhere = IncidentFactory()
    other_stream = workstream_start(
        incident=elsewhere, by=UserFactory(is_staff=True), name="Other", goal="x", lead=people["ic"]
    )
    client.force_login(people["member"])
    response = client.post(
        f"/incidents/{incident.number}/timeline/",
        {"kind": "note", "body": "Wrong place", "workstream": other_stream.pk},
    )
    assert response.status_code == 422
    assert "not an open workstream of this incident" in response.content.decode()
    assert not TimelineEntry.objects.filter(body="Wrong place").exists()


def test_an_outsider_does_not_see_a_restricted_incident_s_workstream_slice(client, split):
    incident, database, _network, _people = split
    client.force_login(UserFactory())
    assert client.get(incident.get_absolute_url(), {"workstream": database.pk}).status_code == 404
