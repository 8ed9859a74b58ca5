"""Paging: people, services, schedules, Page IC, escalation, and acknowledge links."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from comms.models import Delivery, Message
from incidents.models import TimelineEntry
from roles import tasks
from roles.models import IncidentRole, OutOfOffice, Page, RoleAssignment, Schedule, Service
from roles.services import (
    RoleError,
    page_ack_url,
    page_acknowledge,
    page_escalate,
    page_incident_commander,
    page_send,
    pages_escalate_overdue,
    role_assign,
)
from tests.roles.conftest import at, profile

NOW = at(2026, 3, 24, 12, 0)  # Dev is primary, Sam backup on the IC roster


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def paged(page):
    return sorted(u.first_name for u in page.notified.all())


def page_messages_to(user):
    return Message.objects.filter(kind="page", deliveries__user=user).distinct()


def test_page_ic_pages_primary_and_backup_at_once(incident, iris, ic_schedule):
    page = page_incident_commander(incident=incident, by=iris)
    assert paged(page) == ["Dev", "Sam"]
    assert page.level == 0 and page.status == Page.Status.TRIGGERED
    assert page.escalates_at == NOW + timedelta(minutes=5)
    for user in page.notified.all():
        message = page_messages_to(user).get()
        assert "Acknowledge: http" in message.body
        assert "/pages/ack/" in message.body
        kinds = set(message.deliveries.filter(user=user).values_list("channel__kind", flat=True))
        assert kinds == {"in_app", "email"}
    entry = incident.timeline.filter(kind=TimelineEntry.Kind.PAGE).first()
    assert entry.body == "Paged Dev Deputy and Sam Scribe (primary and backup on-call Incident Commander)"


def test_page_ic_sends_email_to_both_on_commit(
    incident, iris, ic_schedule, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        page = page_incident_commander(incident=incident, by=iris)
    assert sorted(m.to[0] for m in mail.outbox) == ["dev.deputy@example.com", "sam.scribe@example.com"]
    # The escalation run that the commit scheduled ran eagerly, early, and did nothing.
    page.refresh_from_db()
    assert page.level == 0 and page.status == Page.Status.TRIGGERED


def test_a_personal_webhook_gets_the_page_too(incident, iris, dev):
    profile(dev, webhook_url="https://hooks.example.com/dev")
    page_send(incident=incident, by=iris, person=dev)
    message = page_messages_to(dev).get()
    assert message.deliveries.filter(channel__kind="slack", address="https://hooks.example.com/dev").exists()


def test_paging_a_service_goes_to_the_primary_then_the_secondary_owner(incident, iris, dev, sam):
    service = Service.objects.create(
        name="Checkout", primary_owner=dev, secondary_owner=sam, escalation_minutes=3
    )
    page = page_send(incident=incident, by=iris, service=service)
    assert page.steps == [[dev.pk], [sam.pk]]
    assert paged(page) == ["Dev"]
    with time_machine.travel(NOW + timedelta(minutes=3), tick=False):
        page = page_escalate(page_id=page.pk, token=str(page.escalation_token))
    assert paged(page) == ["Dev", "Sam"]
    assert incident.timeline.filter(body__startswith="Page escalated to Sam Scribe").exists()


def test_paging_a_service_skips_owners_out_of_office(incident, iris, dev, sam):
    OutOfOffice.objects.create(
        profile=profile(dev), starts_at=NOW - timedelta(days=1), ends_at=NOW + timedelta(days=1)
    )
    service = Service.objects.create(name="Checkout", primary_owner=dev, secondary_owner=sam)
    page = page_send(incident=incident, by=iris, service=service)
    assert page.steps == [[sam.pk]]
    assert paged(page) == ["Sam"]


def test_paging_a_service_with_everyone_away_is_refused(incident, iris, dev):
    OutOfOffice.objects.create(
        profile=profile(dev), starts_at=NOW - timedelta(days=1), ends_at=NOW + timedelta(days=1)
    )
    service = Service.objects.create(name="Checkout", primary_owner=dev)
    with pytest.raises(RoleError, match="Nobody to page for Checkout"):
        page_send(incident=incident, by=iris, service=service)
    assert not Page.objects.exists() and not Message.objects.exists()


def test_paging_an_empty_schedule_is_refused_and_writes_nothing(client, incident, iris):
    schedule = Schedule.objects.create(name="Database on-call")
    entries = incident.timeline.count()
    with pytest.raises(RoleError, match="Nobody is on call for Database on-call right now"):
        page_send(incident=incident, by=iris, schedule=schedule)
    client.force_login(iris)
    response = client.post(
        reverse("roles:page", args=[incident.number]),
        {"target": f"schedule:{schedule.pk}"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "the schedule is empty" in response.content.decode()
    assert not Page.objects.exists() and not Message.objects.exists()
    assert incident.timeline.count() == entries


def test_page_ic_without_a_roster_is_refused(incident, iris):
    with pytest.raises(RoleError, match="No on-call schedule for the Incident Commander"):
        page_incident_commander(incident=incident, by=iris)


def test_a_schedule_page_escalates_primary_backup_then_the_rest(incident, iris, ic_schedule):
    page = page_send(incident=incident, by=iris, schedule=ic_schedule)
    names = [[u] for u in ("Dev", "Sam", "Iris")]
    from django.contrib.auth import get_user_model

    by_pk = {u.pk: u.first_name for u in get_user_model().objects.all()}
    assert [[by_pk[pk] for pk in step] for step in page.steps] == names
    for minutes in (5, 10):
        with time_machine.travel(NOW + timedelta(minutes=minutes), tick=False):
            assert (
                tasks.page_escalate(page.pk, str(Page.objects.get(pk=page.pk).escalation_token))
                == "escalated"
            )
    page.refresh_from_db()
    assert page.level == 2 and paged(page) == ["Dev", "Iris", "Sam"]
    with time_machine.travel(NOW + timedelta(minutes=15), tick=False):
        page_escalate(page_id=page.pk, token=str(page.escalation_token))
    page.refresh_from_db()
    assert page.status == Page.Status.EXHAUSTED
    assert incident.timeline.filter(body__startswith="Nobody acknowledged the page within 5 minutes").exists()
    told = Message.objects.get(kind="reminder", subject__contains="Nobody acknowledged your page")
    assert set(told.deliveries.values_list("user__first_name", flat=True)) == {"Iris"}


def test_a_stale_escalation_run_does_nothing(incident, iris, ic_schedule):
    page = page_send(incident=incident, by=iris, schedule=ic_schedule)
    old_token = str(page.escalation_token)
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        assert tasks.page_escalate(page.pk, old_token) == "escalated"
        # The same run delivered twice, or a run for the step before: nothing more happens.
        assert tasks.page_escalate(page.pk, old_token) == "stale"
    page.refresh_from_db()
    assert page.level == 1
    assert Message.objects.filter(kind="page").count() == 2


def test_an_early_escalation_run_does_nothing(incident, iris, ic_schedule):
    page = page_send(incident=incident, by=iris, schedule=ic_schedule)
    with time_machine.travel(NOW + timedelta(minutes=4), tick=False):
        assert tasks.page_escalate(page.pk, str(page.escalation_token)) == "early"
    page.refresh_from_db()
    assert page.level == 0


def test_an_acknowledged_page_does_not_escalate(incident, iris, dev, ic_schedule):
    page = page_send(incident=incident, by=iris, schedule=ic_schedule)
    token = str(page.escalation_token)
    page_acknowledge(page=page, user=dev)
    with time_machine.travel(NOW + timedelta(minutes=6), tick=False):
        assert tasks.page_escalate(page.pk, token) == "stale"
        assert pages_escalate_overdue() == 0
    page.refresh_from_db()
    assert page.level == 0 and page.status == Page.Status.ACKNOWLEDGED


def test_the_beat_sweep_escalates_overdue_pages(incident, iris, ic_schedule):
    page = page_send(incident=incident, by=iris, schedule=ic_schedule)
    with time_machine.travel(NOW + timedelta(minutes=4), tick=False):
        assert pages_escalate_overdue() == 0
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        assert pages_escalate_overdue() == 1
        assert pages_escalate_overdue() == 0
    page.refresh_from_db()
    assert page.level == 1


def test_a_resolved_incident_cancels_the_escalation(incident, iris, ic_schedule):
    from incidents.services import incident_change_status

    page = page_send(incident=incident, by=iris, schedule=ic_schedule)
    incident.severity = 3
    incident.save(update_fields=["severity"])
    incident_change_status(incident=incident, status="declined", by=iris, note="A bad check")
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        page_escalate(page_id=page.pk, token=str(page.escalation_token))
    page.refresh_from_db()
    assert page.status == Page.Status.CANCELLED and page.level == 0


# --- Acknowledge links -----------------------------------------------------------------------------


def test_acknowledging_the_ic_page_with_nobody_in_the_role_makes_you_ic(
    client, incident, iris, dev, ic_schedule
):
    page = page_incident_commander(incident=incident, by=iris)
    url = page_ack_url(page=page, user=dev)
    client.force_login(dev)
    shown = client.get(url)
    assert shown.status_code == 200 and "acknowledging makes you Incident Commander" in shown.content.decode()
    page.refresh_from_db()
    assert page.status == Page.Status.TRIGGERED  # opening the link changes nothing
    response = client.post(url)
    assert response.status_code == 302 and response.url == incident.get_absolute_url()
    page.refresh_from_db()
    assert page.status == Page.Status.ACKNOWLEDGED and page.acknowledged_by == dev
    ic = RoleAssignment.objects.get(
        incident=incident, role=IncidentRole.INCIDENT_COMMANDER, ended_at__isnull=True
    )
    assert ic.user == dev
    assert incident.timeline.filter(kind="page", body="Dev Deputy acknowledged the page").exists()
    assert Message.objects.filter(kind="page_ack", deliveries__user=iris).exists()


def test_acknowledging_the_ic_page_keeps_an_existing_ic(incident, iris, dev, ic_schedule):
    role_assign(incident=incident, role=IncidentRole.INCIDENT_COMMANDER, user=iris, by=iris)
    page = page_incident_commander(incident=incident, by=iris)
    page_acknowledge(page=page, user=dev)
    ic = RoleAssignment.objects.get(
        incident=incident, role=IncidentRole.INCIDENT_COMMANDER, ended_at__isnull=True
    )
    assert ic.user == iris


def test_a_reused_link_says_so_and_changes_nothing(client, incident, iris, dev, sam, ic_schedule):
    page = page_incident_commander(incident=incident, by=iris)
    page_acknowledge(page=page, user=sam)
    entries = incident.timeline.count()
    client.force_login(dev)
    response = client.post(page_ack_url(page=page, user=dev))
    assert response.status_code == 409
    assert "acknowledged already by Sam Scribe" in response.content.decode()
    page.refresh_from_db()
    assert page.acknowledged_by == sam
    assert incident.timeline.count() == entries
    with pytest.raises(RoleError, match="acknowledged already"):
        page_acknowledge(page=page, user=sam)


def test_an_expired_link_is_refused(client, incident, iris, dev, ic_schedule, settings):
    settings.ROLES_PAGE_ACK_MAX_AGE_SECONDS = 3600
    page = page_incident_commander(incident=incident, by=iris)
    url = page_ack_url(page=page, user=dev)
    client.force_login(dev)
    with time_machine.travel(NOW + timedelta(hours=1, seconds=1), tick=False):
        response = client.post(url)
    assert response.status_code == 400
    assert "This acknowledge link has expired" in response.content.decode()
    page.refresh_from_db()
    assert page.status == Page.Status.TRIGGERED


def test_a_link_opened_by_someone_else_is_refused(client, incident, iris, dev, ic_schedule):
    page = page_incident_commander(incident=incident, by=iris)
    client.force_login(iris)
    response = client.post(page_ack_url(page=page, user=dev))
    assert response.status_code == 403
    assert "This link was sent to Dev Deputy" in response.content.decode()
    page.refresh_from_db()
    assert page.status == Page.Status.TRIGGERED


def test_a_forged_link_is_refused(client, incident, iris, dev, ic_schedule):
    page = page_incident_commander(incident=incident, by=iris)
    url = page_ack_url(page=page, user=dev)
    client.force_login(dev)
    response = client.post(url[:-3] + "xyz/")
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_paging_someone_into_a_restricted_incident_lets_them_see_it(client, security_incident, iris, dev):
    page = page_send(incident=security_incident, by=iris, person=dev)
    client.force_login(dev)
    assert client.get(page_ack_url(page=page, user=dev)).status_code == 200
    assert client.get(security_incident.get_absolute_url()).status_code == 200


def test_restricted_pages_stay_hidden_from_outsiders(client, security_incident, iris, dev, otto):
    page = page_send(incident=security_incident, by=iris, person=dev)
    client.force_login(otto)
    # Even a valid link for someone else: the incident is a 404 for an outsider.
    assert client.get(page_ack_url(page=page, user=dev)).status_code == 404
    assert client.get(page_ack_url(page=page, user=otto)).status_code == 404
    html = client.get(reverse("dashboard")).content.decode()
    assert "Leaked token" not in html


def test_page_ic_from_the_room(client, incident, iris, ic_schedule):
    client.force_login(iris)
    response = client.post(reverse("roles:page_ic", args=[incident.number]), headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Dev Deputy, Sam Scribe" in html
    assert Page.objects.get().target == Page.Target.INCIDENT_COMMANDER


def test_the_dashboard_shows_my_pages_and_roles(client, incident, iris, dev, ic_schedule):
    page_incident_commander(incident=incident, by=iris)
    role_assign(incident=incident, role=IncidentRole.SCRIBE, user=dev, by=dev)
    client.force_login(dev)
    html = client.get(reverse("dashboard")).content.decode()
    assert "My pages" in html and "My roles" in html
    assert "/pages/ack/" in html
    assert "Scribe</strong> on" in html
    assert Delivery.objects.filter(user=dev, channel__kind="in_app").exists()


def test_a_page_says_where_to_join(incident, iris, dev):
    from comms.models import Message
    from incidents.services import tools

    tools.incident_set_contacts(
        incident=incident, by=iris, bridge_url="https://meet.example.com/inc", chat_channel="#inc-search"
    )
    page_send(incident=incident, by=iris, person=dev)
    message = Message.objects.get(kind="page")
    assert "**Where to join:** call: https://meet.example.com/inc · chat: #inc-search" in message.body
    assert message.context["join"]["chat_channel"] == "#inc-search"
