"""Personal notification rules: a page reaches a person step by step, through a local stand-in for ntfy,
until it is acknowledged; escalation runs on its own timer; every step is in the outbox."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from comms.models import Delivery, Message
from comms.services import contact_method_add, contact_method_remove, deliveries_send
from roles import tasks
from roles.models import NotificationRule, Page, Service, Urgency
from roles.services import NotAllowed, RoleError, page_acknowledge, page_escalate, page_send
from roles.services.notification_rules import notification_rule_add, notification_rule_remove
from tests.comms.outbound import Receiver
from tests.factories import IncidentFactory
from tests.roles.conftest import at, person

NOW = at(2026, 3, 24, 3, 0)  # 3 a.m.: nobody reads e-mail


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def ntfy(settings):
    """A local HTTP receiver standing in for a self-hosted ntfy server, allowed by name as an admin would."""
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def alice(db):
    return person("Alice Oncall", email="alice@example.com")


@pytest.fixture
def major(clock, db):
    return IncidentFactory(title="[Outage]: Checkout down", severity=1, declared_by=person("Ivan Declarer"))


def ntfy_topics(receiver: Receiver) -> list[str]:
    return [json.loads(raw)["topic"] for _path, _headers, raw in receiver.requests]


def deliver_everything(django_capture_on_commit_callbacks) -> None:
    """What the worker does with what is due now (the outbox's own task, called directly)."""
    due = Delivery.objects.filter(state__in=Delivery.CLAIMABLE_STATES).values_list("pk", flat=True)
    deliveries_send(delivery_ids=list(due))


def step_states(page: Page) -> list[tuple[str, str]]:
    return list(page.notifications.order_by("position").values_list("method_name", "state"))


@pytest.fixture
def alice_rules(alice, ntfy):
    """Push at once, the backup phone after 2 minutes, e-mail after 5: for major incidents."""
    push = contact_method_add(user=alice, label="Phone", url=f"ntfy://127.0.0.1:{ntfy.port}/alice-pager")
    backup = contact_method_add(user=alice, label="Tablet", url=f"ntfy://127.0.0.1:{ntfy.port}/alice-tablet")
    for method, minutes in ((push, 0), (backup, 2), (None, 5)):
        notification_rule_add(
            user=alice, by=alice, urgency=Urgency.MAJOR, delay_minutes=minutes, contact_method=method
        )
    return push, backup


def test_a_page_reaches_a_person_by_their_rules_in_order_until_acknowledged(
    major, alice, alice_rules, ntfy, clock, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        page = page_send(incident=major, by=None, person=alice)
    # At once: the bell and the first step (push), nothing else.
    assert ntfy_topics(ntfy) == ["alice-pager"]
    assert step_states(page) == [("Phone", "sent"), ("Tablet", "scheduled"), ("E-mail", "scheduled")]
    first = Message.objects.get(dedup_key=f"page:{page.pk}:0:{alice.pk}")
    assert set(first.deliveries.values_list("channel__kind", flat=True)) == {"in_app"}
    assert mail.outbox == []

    # Two minutes later the countdown (or the sweep) sends the second step.
    clock.move_to(NOW + timedelta(minutes=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.page_steps_send_due() == 1
    assert ntfy_topics(ntfy) == ["alice-pager", "alice-tablet"]
    body = json.loads(ntfy.requests[1][2])["message"]
    assert "Acknowledge: http" in body and "/pages/ack/" in body  # the step carries the person's link

    # She acknowledges (the API, the room and the link all call this): the e-mail step stops.
    clock.move_to(NOW + timedelta(minutes=3))
    page_acknowledge(page=page, user=alice)
    clock.move_to(NOW + timedelta(minutes=6))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.page_steps_send_due() == 0
    assert step_states(page) == [("Phone", "sent"), ("Tablet", "sent"), ("E-mail", "stopped")]
    assert page.notifications.get(method_name="E-mail").note == "Stopped: Alice Oncall acknowledged the page."
    assert mail.outbox == [] and len(ntfy.requests) == 2

    # Each step is a message in the outbox, with its delivery's state.
    steps = Message.objects.filter(incident=major, kind="page").exclude(pk=first.pk).order_by("pk")
    assert [(m.deliveries.get().recipient_label, m.deliveries.get().state) for m in steps] == [
        (f"{alice} (Phone · ntfy://127.0.0.1/…)", "sent"),
        (f"{alice} (Tablet · ntfy://127.0.0.1/…)", "sent"),
    ]


def test_a_failing_receiver_retries_then_goes_dead_without_blocking_the_other_steps(
    major, alice, alice_rules, ntfy, clock, settings, django_capture_on_commit_callbacks
):
    settings.COMMS_MAX_ATTEMPTS = 2
    settings.COMMS_RETRY_BASE_SECONDS = 30
    ntfy.status = 502
    with django_capture_on_commit_callbacks(execute=True):
        page = page_send(incident=major, by=None, person=alice)
    push = Delivery.objects.get(contact_method=alice_rules[0])
    assert push.state == Delivery.State.FAILED and push.last_error == "ntfy answered HTTP 502 Bad Gateway"

    clock.move_to(NOW + timedelta(minutes=2))
    with django_capture_on_commit_callbacks(execute=True):
        deliver_everything(django_capture_on_commit_callbacks)  # the retry of the push (backoff passed)
        tasks.page_steps_send_due()  # the tablet's step is due, whatever happened to the push
        deliver_everything(django_capture_on_commit_callbacks)
    push.refresh_from_db()
    tablet = Delivery.objects.get(contact_method=alice_rules[1])
    assert (push.state, push.attempts) == (Delivery.State.DEAD, 2)
    assert tablet.state == Delivery.State.FAILED  # the same broken server; retried on its own schedule

    clock.move_to(NOW + timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        tasks.page_steps_send_due()
    assert step_states(page) == [("Phone", "sent"), ("Tablet", "sent"), ("E-mail", "sent")]
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert "Acknowledge: http" in mail.outbox[0].body


def test_escalation_runs_on_its_own_timer_while_the_steps_go_on(
    major, alice, alice_rules, ntfy, clock, django_capture_on_commit_callbacks
):
    bob = person("Bob Backup", email="bob@example.com")
    service = Service.objects.create(
        name="Checkout", primary_owner=alice, secondary_owner=bob, escalation_minutes=3
    )
    with django_capture_on_commit_callbacks(execute=True):
        page = page_send(incident=major, by=None, service=service)
    clock.move_to(NOW + timedelta(minutes=3))
    with django_capture_on_commit_callbacks(execute=True):
        page_escalate(page_id=page.pk, token=str(page.escalation_token))
        tasks.page_steps_send_due()
    page.refresh_from_db()
    assert page.level == 1 and sorted(u.first_name for u in page.notified.all()) == ["Alice", "Bob"]
    # Bob has no rules: bell and e-mail at once. Alice's tablet step went at 2 minutes.
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]
    assert step_states(page) == [("Phone", "sent"), ("Tablet", "sent"), ("E-mail", "scheduled")]
    # Bob acknowledges: Alice's last step stops too (the page is taken).
    page_acknowledge(page=page, user=bob)
    clock.move_to(NOW + timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        tasks.page_steps_send_due()
    assert step_states(page)[-1] == ("E-mail", "stopped")
    assert len(mail.outbox) == 1


def test_rules_are_per_urgency(alice, alice_rules, ntfy, clock, django_capture_on_commit_callbacks):
    minor = IncidentFactory(severity=3, declared_by=person("Ivan Declarer"))
    with django_capture_on_commit_callbacks(execute=True):
        page = page_send(incident=minor, by=None, person=alice)
    # No step for other incidents: the bell and e-mail at once, as always; nothing to the phone.
    assert not page.notifications.exists() and ntfy.requests == []
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_the_countdown_task_sends_a_step_once_and_ignores_early_or_stale_runs(
    major, alice, alice_rules, ntfy, clock, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        page = page_send(incident=major, by=None, person=alice)
    step = page.notifications.get(method_name="Tablet")
    assert tasks.page_step_send(step.pk, str(step.token)) == "early"
    clock.move_to(NOW + timedelta(minutes=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.page_step_send(step.pk, str(step.token)) == "sent"
    assert tasks.page_step_send(step.pk, str(step.token)) == "stale"
    assert tasks.page_steps_send_due() == 0
    assert ntfy_topics(ntfy) == ["alice-pager", "alice-tablet"]


def test_closing_the_incident_stops_the_steps(
    major, alice, alice_rules, ntfy, clock, django_capture_on_commit_callbacks
):
    from incidents.services import incident_change_status

    with django_capture_on_commit_callbacks(execute=True):
        page = page_send(incident=major, by=None, person=alice)
    incident_change_status(incident=major, status="declined", by=alice, note="A bad check")
    clock.move_to(NOW + timedelta(minutes=10))
    with django_capture_on_commit_callbacks(execute=True):
        tasks.page_steps_send_due()
    assert step_states(page) == [("Phone", "sent"), ("Tablet", "stopped"), ("E-mail", "stopped")]
    assert page.notifications.get(method_name="Tablet").note == "Stopped: the incident is closed."
    assert mail.outbox == [] and len(ntfy.requests) == 1


def test_a_removed_method_stops_its_step_and_the_others_go_on(
    major, alice, alice_rules, ntfy, clock, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        page = page_send(incident=major, by=None, person=alice)
    tablet_id = alice_rules[1].pk
    contact_method_remove(method=alice_rules[1], by=alice)
    clock.move_to(NOW + timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        tasks.page_steps_send_due()
    assert step_states(page) == [("Phone", "sent"), ("Tablet", "stopped"), ("E-mail", "sent")]
    # Removing a method removes the steps of the rules that used it.
    assert not NotificationRule.objects.filter(contact_method_id=tablet_id).exists()
    assert NotificationRule.objects.filter(user=alice).count() == 2


def test_only_the_person_edits_their_rules(alice, db):
    mallory = person("Mallory Meddler")
    with pytest.raises(NotAllowed):
        notification_rule_add(user=alice, by=mallory, urgency=Urgency.MAJOR, delay_minutes=0)
    rule = notification_rule_add(user=alice, by=alice, urgency=Urgency.MAJOR, delay_minutes=0)
    with pytest.raises(RoleError, match="in your rules already"):
        notification_rule_add(user=alice, by=alice, urgency=Urgency.MAJOR, delay_minutes=0)
    with pytest.raises(RoleError, match="0 to 120 minutes"):
        notification_rule_add(user=alice, by=alice, urgency=Urgency.MAJOR, delay_minutes=121)
    other = contact_method_add(user=mallory, label="Mine", url="pover://ukey@apptoken")
    with pytest.raises(NotAllowed):
        notification_rule_add(
            user=alice, by=alice, urgency=Urgency.OTHER, delay_minutes=1, contact_method=other
        )
    with pytest.raises(NotAllowed):
        notification_rule_remove(rule=rule, by=mallory)
    notification_rule_remove(rule=rule, by=alice)
    assert not NotificationRule.objects.exists()


def test_steps_are_in_the_admin(major, alice, alice_rules, admin_user, client, clock):
    page = page_send(incident=major, by=None, person=alice)
    client.force_login(admin_user)
    rules = client.get("/admin/roles/notificationrule/").content.decode()
    assert "Tablet" in rules and "E-mail" in rules
    steps = client.get(f"/admin/roles/page/{page.pk}/change/").content.decode()
    assert "Notification steps (personal rules)" in steps and "scheduled" in steps.lower()
    assert "alice-pager" not in rules + steps
