"""One real Celery worker, real Redis, a real SMTP server, and a SIGKILL mid-batch.

The worker runs as a subprocess against the same test database (PostgreSQL:
the worker cannot share pytest's SQLite transaction), so this test needs
REDIS_URL and DATABASE_URL; CI sets both.
"""

import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from comms import services
from comms.models import Delivery
from comms.selectors import email_channel
from comms.services import Recipient, message_send
from config.celery import app as celery_app
from tests.comms.smtp_sink import Sink, SinkServer
from tests.workers import needs_real_worker, start_worker, stop_worker

RECIPIENTS = 40
BATCH = 10
LEASE_SECONDS = 5

pytestmark = needs_real_worker


def _start_worker(smtp_port: int, log: Path) -> subprocess.Popen:
    return start_worker(
        log,
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        COMMS_EMAIL_BATCH_SIZE=str(BATCH),
        COMMS_SENDING_LEASE_SECONDS=str(LEASE_SECONDS),
    )


def _wait(predicate, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{tail}")


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(tmp_path):
    celery_app.conf.task_always_eager = False  # the autouse fixture turns it back on for the next test
    celery_app.control.purge()  # leftovers of an earlier run in this Redis database
    log = tmp_path / "worker.log"
    sink = Sink(trap_at=BATCH + 4)  # hold the 5th message of the 2nd batch, then kill the worker there
    with SinkServer(sink) as server:
        first = _start_worker(server.port, log)
        try:
            message = message_send(
                kind="public_update",
                subject="Checkout is degraded",
                body="We are **investigating**.",
                recipients=[
                    Recipient(channel=email_channel(), address=f"subscriber{i}@example.com")
                    for i in range(RECIPIENTS)
                ],
                headers={"List-Unsubscribe": "<https://status.example.com/unsubscribe/x>"},
            )
            _wait(sink.trapped.is_set, 30, "the worker to reach the trapped message", log)
            os.killpg(first.pid, signal.SIGKILL)  # no cleanup, no ack, no "sent" for the held one
            first.wait(timeout=10)
        finally:
            stop_worker(first, signal.SIGKILL)

        stuck = Delivery.objects.filter(message=message, state=Delivery.State.SENDING).count()
        assert stuck >= 1, "the killed worker should have left claimed deliveries behind"
        assert len(sink.received) == BATCH + 4

        second = _start_worker(server.port, log)
        try:
            # What beat would do every minute, faster: the killed task's batch
            # is only recovered by the sweeper once its lease expires.
            def all_sent() -> bool:
                services.outbox_sweep()
                return not message.deliveries.exclude(state=Delivery.State.SENT).exists()

            _wait(all_sent, 40, "every delivery to be sent after the restart", log)
        finally:
            stop_worker(second)

    per_address = Counter(r.recipients[0] for r in sink.received)
    assert len(per_address) == RECIPIENTS
    assert set(per_address.values()) == {1}, "someone got the message twice"
    assert len({r.message_id for r in sink.received}) == RECIPIENTS
    assert all(
        r.headers["List-Unsubscribe"] == "<https://status.example.com/unsubscribe/x>" for r in sink.received
    )
    held = Delivery.objects.filter(message=message, attempts=2)
    assert held.count() >= 1  # the batch that was claimed twice: once by the dead worker
