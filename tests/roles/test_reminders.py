"""Reminders on beat with a frozen clock, and the executive summary form."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from comms.models import Message
from incidents.services import incident_change_severity, incident_change_status, timeline_record
from roles.models import ExecutiveSummary, IncidentRole, Team
from roles.services import executive_summary_send, reminders_send, role_assign
from tests.factories import IncidentFactory
from tests.roles.conftest import at, person

T0 = at(2026, 3, 24, 10, 0)


@pytest.fixture(autouse=True)
def at_t0():
    """Every test starts at T0, its fixtures too, and only moves forward from there: the
    people, roles and sessions it reads are not written at the real clock, months later."""
    with time_machine.travel(T0, tick=False):
        yield


@pytest.fixture
def ines(db):
    return person("Ines Liaison")


@pytest.fixture
def cory(db):
    return person("Cory Liaison")


@pytest.fixture
def sev1(iris, ines, cory):
    incident = IncidentFactory(declared_by=iris, title="[Outage]: Checkout fails", severity=1)
    role_assign(incident=incident, role=IncidentRole.INCIDENT_COMMANDER, user=iris, by=None)
    role_assign(incident=incident, role=IncidentRole.INTERNAL_LIAISON, user=ines, by=None)
    role_assign(incident=incident, role=IncidentRole.CUSTOMER_LIAISON, user=cory, by=None)
    return incident


def run(minutes: float) -> dict:
    with time_machine.travel(T0 + timedelta(minutes=minutes), tick=False):
        return reminders_send()


def reminders(subject_part: str) -> list[str]:
    return sorted(
        set(
            Message.objects.filter(kind="reminder", subject__contains=subject_part).values_list(
                "deliveries__user__first_name", flat=True
            )
        )
    )


def count(subject_part: str) -> int:
    return Message.objects.filter(kind="reminder", subject__contains=subject_part).count()


def test_the_executive_summary_is_due_every_30_minutes_to_the_internal_liaison(sev1):
    assert run(29)["executive_summary"] == 0
    assert run(30)["executive_summary"] == 1
    assert run(31)["executive_summary"] == 0  # idempotent within the period
    assert run(59)["executive_summary"] == 0
    assert run(60)["executive_summary"] == 1
    assert count("Executive summary due") == 2
    assert reminders("Executive summary due") == ["Ines"]


def test_without_an_internal_liaison_the_ic_is_reminded(iris):
    incident = IncidentFactory(declared_by=iris, severity=2)
    role_assign(incident=incident, role=IncidentRole.INCIDENT_COMMANDER, user=iris, by=None)
    run(30)
    assert reminders("Executive summary due") == ["Iris"]


def test_the_interval_is_configurable_by_severity(sev1, settings):
    settings.ROLES_EXECUTIVE_SUMMARY_MINUTES = {1: 15}
    assert run(15)["executive_summary"] == 1
    settings.ROLES_EXECUTIVE_SUMMARY_MINUTES = {2: 15}
    assert run(45)["executive_summary"] == 0


def test_a_sent_summary_restarts_the_clock(sev1, ines):
    Team.objects.create(name="SEV-1 Stakeholders", stakeholder_for=[1]).members.add(person("Erin Exec"))
    run(30)
    with time_machine.travel(T0 + timedelta(minutes=40), tick=False):
        executive_summary_send(incident=sev1, by=ines, body="Rollback under way.")
    assert run(60)["executive_summary"] == 0
    assert run(69)["executive_summary"] == 0
    assert run(70)["executive_summary"] == 1


def test_a_raise_to_major_restarts_the_cadence_from_the_rise(iris, ines, settings):
    incident = IncidentFactory(declared_by=iris, title="Slow search", severity=3)
    role_assign(incident=incident, role=IncidentRole.INCIDENT_COMMANDER, user=iris, by=None)
    role_assign(incident=incident, role=IncidentRole.INTERNAL_LIAISON, user=ines, by=None)
    assert run(120)["executive_summary"] == 0  # a SEV-3 has no cadence

    def change(minutes: int, severity: int, note: str = "") -> None:
        with time_machine.travel(T0 + timedelta(minutes=minutes), tick=False):
            incident_change_severity(incident=incident, severity=severity, by=iris, note=note)

    change(120, 1)
    # Counted from the declaration, four periods would be overdue at once; from the rise, none.
    after_rise = run(121)
    assert (after_rise["executive_summary"], after_rise["public_update"]) == (0, 0)
    assert run(149)["executive_summary"] == 0
    assert run(150)["executive_summary"] == 1
    assert reminders("Executive summary due") == ["Ines"]

    change(160, 3, note="Contained")
    change(200, 2)  # a second rise: the clock starts again
    assert run(201)["executive_summary"] == 0
    every = settings.ROLES_EXECUTIVE_SUMMARY_MINUTES[2]
    assert run(200 + every - 1)["executive_summary"] == 0
    assert run(200 + every)["executive_summary"] == 1


def test_the_public_update_is_overdue_to_the_customer_liaison(sev1, cory):
    assert run(29)["public_update"] == 0
    assert run(30)["public_update"] == 1
    assert reminders("Public update overdue") == ["Cory"]
    with time_machine.travel(T0 + timedelta(minutes=35), tick=False):
        timeline_record(incident=sev1, kind="public_update", body="Investigating.", author=cory)
    assert run(60)["public_update"] == 0
    assert run(65)["public_update"] == 1
    assert count("Public update overdue") == 2


def test_a_check_up_after_hours_open_to_the_ic(iris):
    incident = IncidentFactory(declared_by=iris, severity=3)
    role_assign(incident=incident, role=IncidentRole.INCIDENT_COMMANDER, user=iris, by=None)
    counts = run(4 * 60 - 1)
    assert counts == {"executive_summary": 0, "public_update": 0, "checkup": 0}
    assert run(4 * 60)["checkup"] == 1
    assert run(4 * 60 + 30)["checkup"] == 0
    assert run(8 * 60)["checkup"] == 1
    assert reminders("time to regroup") == ["Iris"]


def test_reminders_stop_when_the_incident_is_resolved(sev1, iris):
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        timeline_record(incident=sev1, kind="verification", body="Checkout works.", author=iris)
        incident_change_status(incident=sev1, status="resolved", by=iris)
    assert run(300) == {"executive_summary": 0, "public_update": 0, "checkup": 0}
    assert not Message.objects.filter(kind="reminder").exists()


# --- The executive summary form -----------------------------------------------------------------


def test_the_form_is_prefilled_and_sends_to_the_stakeholders(client, sev1, ines, iris):
    exec_one, exec_two = person("Erin Exec"), person("Elon Exec")
    Team.objects.create(name="SEV-1 Stakeholders", stakeholder_for=[1]).members.add(exec_one, exec_two)
    Team.objects.create(name="SEV-2 Stakeholders", stakeholder_for=[2]).members.add(person("Other Exec"))
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        timeline_record(
            incident=sev1, kind="finding", body="p95 latency at 12 s on payments-eu.", author=iris
        )
        timeline_record(incident=sev1, kind="decision", body="Rollback release 2026.11.23-2.", author=iris)
    client.force_login(ines)
    url = reverse("roles:executive_summary", args=[sev1.number])
    with time_machine.travel(T0 + timedelta(minutes=30), tick=False):
        html = client.get(url).content.decode()
        assert "Severity: SEV-1 (major)" in html and "Status: Triage" in html
        assert "Incident Commander: Iris Commander" in html
        assert "p95 latency at 12 s on payments-eu." in html
        assert 'value="Rollback release 2026.11.23-2."' in html  # the next planned step
        assert "SEV-1 Stakeholders (2)" in html
        response = client.post(url, {"body": "Edited: rollback under way.", "next_step": "Verify checkout."})
    assert response.status_code == 302
    summary = ExecutiveSummary.objects.get()
    assert summary.body == "Edited: rollback under way." and summary.sent_by == ines
    message = Message.objects.get(kind="executive_summary")
    assert set(message.deliveries.values_list("user__first_name", flat=True)) == {"Erin", "Elon"}
    assert "**Next step:** Verify checkout." in message.body
    assert sev1.timeline.filter(body__startswith="Executive summary sent to SEV-1 Stakeholders").exists()


def test_only_the_internal_liaison_sends_summaries(client, sev1, iris, otto):
    Team.objects.create(name="SEV-1 Stakeholders", stakeholder_for=[1]).members.add(person("Erin Exec"))
    url = reverse("roles:executive_summary", args=[sev1.number])
    client.force_login(otto)
    assert client.post(url, {"body": "Hi"}).status_code == 403
    client.force_login(iris)  # the IC, while an internal liaison holds the role
    assert client.post(url, {"body": "Hi"}).status_code == 403
    assert (
        not ExecutiveSummary.objects.exists()
        and not Message.objects.filter(kind="executive_summary").exists()
    )


def test_without_a_stakeholder_team_the_summary_is_refused_clearly(client, sev1, ines):
    client.force_login(ines)
    response = client.post(reverse("roles:executive_summary", args=[sev1.number]), {"body": "Hi"})
    assert response.status_code == 422
    assert "No stakeholder team with members is set up for SEV-1" in response.content.decode()
    assert not ExecutiveSummary.objects.exists()


def test_the_room_links_the_summary_form_for_the_liaison_only(client, sev1, ines, iris):
    url = reverse("roles:executive_summary", args=[sev1.number])
    client.force_login(ines)
    assert url in client.get(sev1.get_absolute_url()).content.decode()
    client.force_login(iris)
    assert url not in client.get(sev1.get_absolute_url()).content.decode()


def test_a_restricted_incidents_summary_reaches_only_stakeholders_who_take_part(iris, ines):
    from comms.models import Delivery
    from incidents.services import participant_add

    erin, frank = person("Erin Exec"), person("Frank Finance")
    Team.objects.create(name="SEV-1 Stakeholders", stakeholder_for=[1]).members.add(erin, frank)
    breach = IncidentFactory(declared_by=iris, title="Token leak", severity=1, is_security=True)
    role_assign(incident=breach, role=IncidentRole.INTERNAL_LIAISON, user=ines, by=None)

    # Nobody in the team takes part yet: refused, and nothing is sent or recorded.
    with pytest.raises(Exception, match="restricted incident"):
        executive_summary_send(incident=breach, by=ines, body="Keys rotated.")
    assert not ExecutiveSummary.objects.exists()

    participant_add(incident=breach, user=erin, by=iris)
    executive_summary_send(incident=breach, by=ines, body="Keys rotated.")

    to = set(
        Delivery.objects.filter(message__kind="executive_summary").values_list("user__first_name", flat=True)
    )
    assert to == {"Erin"}
    note = breach.timeline.filter(data__executive_summary__isnull=False).get()
    assert "not to Frank Finance" in note.body
