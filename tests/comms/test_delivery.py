"""The worker side: claim, send, record; retries, backoff, dead letters, the sweeper."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from comms import services, tasks
from comms.models import LAST_ERROR_MAX_LENGTH, Delivery
from comms.selectors import email_channel
from comms.services import Recipient, message_send, retry_delay
from tests.comms.smtp_sink import SinkServer


def _write(addresses, django_capture_on_commit_callbacks, *, execute=False):
    with django_capture_on_commit_callbacks(execute=execute):
        return message_send(
            kind="other",
            subject="Status",
            body="Body",
            recipients=[Recipient(channel=email_channel(), address=a) for a in addresses],
        )


@pytest.fixture
def smtp(db, settings):
    with SinkServer() as server:
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": server.port, "timeout": 5},
            }
        }
        yield server.sink


def test_the_task_run_twice_sends_once(db, django_capture_on_commit_callbacks):
    message = _write(["a@example.com"], django_capture_on_commit_callbacks)
    delivery = message.deliveries.get()
    tasks.deliver([delivery.pk])
    tasks.deliver([delivery.pk])  # at-least-once Celery: the same task again
    assert len(mail.outbox) == 1
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SENT
    assert delivery.attempts == 1
    assert abs((timezone.now() - delivery.sent_at).total_seconds()) < 60
    assert delivery.lease_expires_at is None


def test_a_delivery_claimed_by_a_live_worker_is_left_alone(db, django_capture_on_commit_callbacks):
    message = _write(["a@example.com"], django_capture_on_commit_callbacks)
    delivery = message.deliveries.get()
    token, claimed = services.deliveries_claim(delivery_ids=[delivery.pk])
    assert [d.pk for d in claimed] == [delivery.pk]
    # A second worker (or the redelivered task) finds nothing to do.
    assert tasks.deliver([delivery.pk]) == {"sent": 0, "failed": 0, "skipped": 1}
    assert mail.outbox == []


def test_one_smtp_connection_per_batch(smtp, django_capture_on_commit_callbacks):
    _write([f"r{i}@example.com" for i in range(25)], django_capture_on_commit_callbacks, execute=True)
    assert len(smtp.received) == 25
    assert smtp.sessions == 1
    assert Delivery.objects.filter(state=Delivery.State.SENT).count() == 25
    assert len({r.message_id for r in smtp.received}) == 25


def test_a_server_that_closes_long_sessions_costs_a_reconnect_not_a_retry(
    smtp, django_capture_on_commit_callbacks
):
    smtp.max_per_session = 3
    _write([f"r{i}@example.com" for i in range(8)], django_capture_on_commit_callbacks, execute=True)
    assert set(Delivery.objects.values_list("state", flat=True)) == {"sent"}
    assert sorted(r.recipients[0] for r in smtp.received) == sorted(f"r{i}@example.com" for i in range(8))
    assert smtp.sessions == 3


def test_a_refused_address_is_dead_at_once_and_the_batch_goes_on(smtp, django_capture_on_commit_callbacks):
    _write(
        ["ok1@example.com", "bounce@example.com", "ok2@example.com"],
        django_capture_on_commit_callbacks,
        execute=True,
    )
    states = dict(Delivery.objects.values_list("address", "state"))
    assert states == {"ok1@example.com": "sent", "bounce@example.com": "dead", "ok2@example.com": "sent"}
    dead = Delivery.objects.get(address="bounce@example.com")
    assert "550" in dead.last_error
    assert dead.attempts == 1
    assert sorted(r.recipients[0] for r in smtp.received) == ["ok1@example.com", "ok2@example.com"]


def test_a_temporary_refusal_is_retried_with_backoff(smtp, django_capture_on_commit_callbacks):
    before = timezone.now()
    _write(["later@example.com"], django_capture_on_commit_callbacks, execute=True)
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.FAILED
    assert delivery.attempts == 1
    assert "451" in delivery.last_error
    assert delivery.next_attempt_at >= before + timedelta(seconds=30)


def test_an_unreachable_mail_server_is_a_transient_failure(db, settings, django_capture_on_commit_callbacks):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 1, "timeout": 2},  # nothing listens on port 1
        }
    }
    _write(["a@example.com", "b@example.com"], django_capture_on_commit_callbacks, execute=True)
    assert set(Delivery.objects.values_list("state", flat=True)) == {"failed"}
    first, second = Delivery.objects.order_by("id")
    assert first.last_error.startswith("Mail server unreachable")
    assert second.last_error.startswith("Not tried: Mail server unreachable")  # no second connect timeout


def test_backoff_doubles_and_is_bounded(settings):
    settings.COMMS_RETRY_BASE_SECONDS = 30
    settings.COMMS_RETRY_MAX_SECONDS = 3600
    delays = [retry_delay(n).total_seconds() for n in range(1, 11)]
    assert delays[:5] == [30, 60, 120, 240, 480]
    assert max(delays) == 3600
    assert delays[-1] == 3600
    assert retry_delay(500).total_seconds() == 3600


def test_retries_stop_at_the_bound_and_the_delivery_is_dead(
    smtp, settings, django_capture_on_commit_callbacks
):
    settings.COMMS_MAX_ATTEMPTS = 3
    _write(["later@example.com"], django_capture_on_commit_callbacks, execute=True)
    delivery = Delivery.objects.get()
    for _ in range(2):
        with time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1)):
            tasks.deliver([delivery.pk])
        delivery.refresh_from_db()
    assert delivery.state == Delivery.State.DEAD
    assert delivery.attempts == 3


def test_a_retry_before_its_time_does_nothing(smtp, django_capture_on_commit_callbacks):
    _write(["later@example.com"], django_capture_on_commit_callbacks, execute=True)
    delivery = Delivery.objects.get()
    assert tasks.deliver([delivery.pk])["skipped"] == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1


def test_a_long_receiver_error_is_stored_truncated():
    text = services._truncate("x" * 5000)
    assert len(text) == LAST_ERROR_MAX_LENGTH
    assert text.endswith("…")


# --- The sweeper -------------------------------------------------------------------------


def test_the_sweeper_sends_a_delivery_stranded_by_a_broker_outage(db, django_capture_on_commit_callbacks):
    # Written, but the enqueue on commit never happened (broker down).
    _write(["a@example.com"], django_capture_on_commit_callbacks, execute=False)
    assert services.outbox_sweep() == 0  # within the grace period: its task may still be on its way
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert tasks.sweep_outbox() == 1
    assert Delivery.objects.get().state == Delivery.State.SENT
    assert len(mail.outbox) == 1


def test_the_sweeper_rescues_a_delivery_whose_worker_died(db, django_capture_on_commit_callbacks):
    _write(["a@example.com", "b@example.com"], django_capture_on_commit_callbacks, execute=False)
    ids = list(Delivery.objects.values_list("pk", flat=True))
    token, claimed = services.deliveries_claim(delivery_ids=ids)
    assert len(claimed) == 2  # ... and then the worker was killed
    assert services.outbox_sweep() == 0  # the lease still runs
    with time_machine.travel(timezone.now() + timedelta(seconds=301)):
        assert services.outbox_sweep() == 2
    assert set(Delivery.objects.values_list("state", flat=True)) == {"sent"}
    assert len(mail.outbox) == 2
    # The dead worker's late "sent" record must not overwrite the new claim's.
    assert services._record_sent(claimed[0], token) is False


def test_the_sweeper_leaves_sent_and_dead_deliveries_alone(db, django_capture_on_commit_callbacks):
    _write(["a@example.com"], django_capture_on_commit_callbacks, execute=True)
    Delivery.objects.update(state=Delivery.State.DEAD)
    _write(["b@example.com"], django_capture_on_commit_callbacks, execute=True)
    with time_machine.travel(timezone.now() + timedelta(hours=3)):
        assert services.outbox_sweep() == 0
    assert len(mail.outbox) == 2  # one each, nothing again


def test_the_sweeper_is_on_beat():
    from config.celery import app

    entries = [e for e in app.conf.beat_schedule.values() if e["task"] == "comms.tasks.sweep_outbox"]
    assert len(entries) == 1
    assert entries[0]["schedule"] <= 60


def test_celery_is_set_for_at_least_once_delivery(settings):
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    if settings.REDIS_URL:
        assert (
            settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > settings.COMMS_RETRY_MAX_SECONDS
        )


def test_the_per_batch_copy_matches_a_full_build(smtp, django_capture_on_commit_callbacks):
    """The SMTP fast path (one MIME build per message) sends what Django would have built."""
    from comms.transports import build_email

    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(
            kind="public_update",
            subject="Checkout — degraded ünïcode",
            body="We are **on it**.\n\n- one\n- two",
            recipients=[Recipient(channel=email_channel(), address=f"r{i}@example.com") for i in range(3)],
            headers={"List-Unsubscribe": "<https://status.example.com/u/1>"},
        )
    assert smtp.sessions == 1
    for received in smtp.received:
        delivery = message.deliveries.get(address=received.recipients[0])
        expected = build_email(delivery).message()
        assert received.headers["To"] == delivery.address
        assert received.message_id == f"<{delivery.idempotency_key}@coolhead.invalid>"
        assert received.headers["X-Coolhead-Delivery"] == delivery.idempotency_key
        assert received.headers["List-Unsubscribe"] == "<https://status.example.com/u/1>"
        assert received.subject == str(expected["Subject"])
        assert received.text.replace("\r\n", "\n").strip() == "We are on it.\n\none\ntwo"


def test_a_broker_outage_at_commit_keeps_the_rows_and_does_not_hold_up_the_caller(
    db, settings, django_capture_on_commit_callbacks
):
    from unittest import mock

    from kombu.exceptions import OperationalError

    settings.COMMS_EMAIL_BATCH_SIZE = 2
    with mock.patch.object(
        tasks.deliver, "apply_async", side_effect=OperationalError("Redis is down")
    ) as enqueue:
        _write([f"r{i}@example.com" for i in range(6)], django_capture_on_commit_callbacks, execute=True)
    assert enqueue.call_count == 1  # gave up at the first of three batches
    assert set(Delivery.objects.values_list("state", flat=True)) == {"pending"}
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert services.outbox_sweep() == 6
    assert set(Delivery.objects.values_list("state", flat=True)) == {"sent"}
