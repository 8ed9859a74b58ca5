"""End-of-day handover: the prompt, in each person's time zone, once a day; and the form."""

from datetime import time

import pytest
import time_machine
from django.urls import reverse

from comms.models import Message
from incidents.services import incident_change_status
from roles.models import IncidentRole, RoleAssignment
from roles.services import handover_prompts_send, role_assign
from tests.factories import IncidentFactory
from tests.roles.conftest import at, person, profile

IC = IncidentRole.INCIDENT_COMMANDER


@pytest.fixture(autouse=True)
def monday_noon():
    """Every test starts on Monday 2026-03-23 12:00 UTC, its fixtures too, and only moves
    forward from there: the roles it reads are not assigned at the real clock, months later."""
    with time_machine.travel(at(2026, 3, 23, 12, 0), tick=False):
        yield


@pytest.fixture
def staffed(incident, iris, dev):
    """Iris (Berlin, 09-17) is IC, Dev (New York, 09-17) is deputy."""
    profile(iris, tz="Europe/Berlin")
    profile(dev, tz="America/New_York")
    role_assign(incident=incident, role=IC, user=iris, by=None)
    role_assign(incident=incident, role=IncidentRole.DEPUTY, user=dev, by=None)
    return incident


def prompted():
    return sorted(
        Message.objects.filter(kind="handover_prompt")
        .values_list("deliveries__user__first_name", flat=True)
        .distinct()
    )


def run(when) -> int:
    with time_machine.travel(when, tick=False):
        return handover_prompts_send()


def test_the_prompt_follows_each_persons_own_evening(staffed, settings):
    settings.ROLES_HANDOVER_LEAD_MINUTES = 15
    # Tuesday 2026-03-24: Berlin is UTC+1, New York UTC-4 (it changed on 8 March).
    assert run(at(2026, 3, 24, 15, 44)) == 0  # 16:44 in Berlin
    assert run(at(2026, 3, 24, 15, 45)) == 1  # 16:45 in Berlin: Iris
    assert prompted() == ["Iris"]
    assert run(at(2026, 3, 24, 20, 44)) == 0  # 16:44 in New York
    assert run(at(2026, 3, 24, 20, 45)) == 1  # 16:45 in New York: Dev
    assert prompted() == ["Dev", "Iris"]


def test_once_per_day(staffed, settings):
    settings.ROLES_HANDOVER_LEAD_MINUTES = 0
    assert run(at(2026, 3, 24, 16, 0)) == 1  # Iris, 17:00 in Berlin
    assert run(at(2026, 3, 24, 16, 5)) == 0
    assert run(at(2026, 3, 24, 22, 0)) == 1  # Dev, 18:00 in New York; not Iris again
    assert run(at(2026, 3, 24, 23, 0)) == 0
    assert Message.objects.filter(kind="handover_prompt").count() == 2
    assert run(at(2026, 3, 25, 16, 0)) == 1  # the next working day, again


def test_the_prompt_links_to_the_handover_form(staffed, iris, settings):
    settings.ROLES_HANDOVER_LEAD_MINUTES = 0
    run(at(2026, 3, 24, 16, 0))
    message = Message.objects.get(kind="handover_prompt")
    assignment = RoleAssignment.objects.get(user=iris, ended_at__isnull=True)
    assert reverse("roles:handover", args=[staffed.number, assignment.pk]) in message.body
    assert "Incident Commander on INC-" in message.body


def test_no_prompt_on_a_day_off_or_after_resolution(staffed, iris):
    assert run(at(2026, 3, 28, 16, 30)) == 0  # Saturday
    staffed.severity = 4
    staffed.save(update_fields=["severity"])
    with time_machine.travel(at(2026, 3, 28, 17, 0), tick=False):
        incident_change_status(incident=staffed, status="declined", by=iris, note="A bad check")
    assert run(at(2026, 3, 30, 15, 30)) == 0  # Monday, 17:30 in Berlin (summer time now)


def test_a_night_shift_ends_the_next_morning(db, settings):
    settings.ROLES_HANDOVER_LEAD_MINUTES = 0
    owl = person("Night Owl")
    profile(owl, tz="Asia/Tokyo", days=(0,), start=time(22, 0), end=time(6, 0))
    role_assign(incident=IncidentFactory(declared_by=owl), role=IC, user=owl, by=None)
    # Monday's shift in Tokyo (UTC+9) ends Tuesday 06:00 = Monday 21:00 UTC.
    assert run(at(2026, 3, 23, 20, 59)) == 0
    assert run(at(2026, 3, 23, 21, 0)) == 1


def test_the_handover_form_reassigns_notes_and_tells_the_new_holder(client, staffed, iris, sam):
    assignment = RoleAssignment.objects.get(user=iris, ended_at__isnull=True)
    client.force_login(iris)
    url = reverse("roles:handover", args=[staffed.number, assignment.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "new_holder": sam.pk,
            "current_state": "Checkout errors down to 2%.",
            "tried": "Rolled back 2026.11.23-2.",
            "next_steps": "Check the EU payment provider's status.",
            "hypotheses": "Connection pool too small.",
        },
    )
    assert response.status_code == 302
    assignment.refresh_from_db()
    assert assignment.ended_at is not None
    assert "**What I would try next:** Check the EU payment provider's status." in assignment.handover_note
    current = RoleAssignment.objects.get(incident=staffed, role=IC, ended_at__isnull=True)
    assert current.user == sam
    entry = staffed.timeline.filter(kind="role").first()
    assert "Sam Scribe is now Incident Commander, taking over from Iris Commander" in entry.body
    assert "Rolled back 2026.11.23-2." in entry.body
    note = Message.objects.get(kind="handover_note")
    assert set(note.deliveries.values_list("user__first_name", flat=True)) == {"Sam"}
    assert "Connection pool too small." in note.body


def test_only_the_holder_or_the_ic_hands_over(client, staffed, iris, dev, otto, sam):
    deputy = RoleAssignment.objects.get(user=dev, ended_at__isnull=True)
    client.force_login(otto)
    url = reverse("roles:handover", args=[staffed.number, deputy.pk])
    data = {"new_holder": sam.pk, "current_state": "All fine."}
    response = client.post(url, data)
    assert response.status_code == 403
    assert "Only the holder, the Incident Commander, the Deputy or an admin" in response.content.decode()
    deputy.refresh_from_db()
    assert deputy.ended_at is None
    client.force_login(iris)  # the IC may hand over for the deputy
    assert client.post(url, data).status_code == 302


def test_handing_over_to_an_inactive_person_is_refused(client, staffed, iris):
    gone = person("Gone Away", is_active=False)
    assignment = RoleAssignment.objects.get(user=iris, ended_at__isnull=True)
    client.force_login(iris)
    url = reverse("roles:handover", args=[staffed.number, assignment.pk])
    response = client.post(url, {"new_holder": gone.pk, "current_state": "x"})
    assert response.status_code == 422
    assert "Choose an active person to hand over to." in response.content.decode()
    assignment.refresh_from_db()
    assert assignment.ended_at is None


def test_the_handover_form_prefills_the_open_hypotheses(client, staffed, iris):
    from incidents.services import tools

    pool = tools.hypothesis_raise(incident=staffed, by=iris, statement="Connection pool too small")
    dns = tools.hypothesis_raise(incident=staffed, by=iris, statement="DNS flaps")
    tools.hypothesis_decide(hypothesis=dns, by=iris, state="ruled_out", evidence="dig is stable")
    assignment = RoleAssignment.objects.get(user=iris, role=IC)
    client.force_login(iris)
    html = client.get(reverse("roles:handover", args=[staffed.number, assignment.pk])).content.decode()
    assert f"- {pool.statement}" in html
    assert "DNS flaps" not in html
