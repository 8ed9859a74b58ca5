"""Enqueueing on a request path when the broker is down or frozen: a moment, then an error the caller logs."""

import socket
import time

import pytest
from kombu.exceptions import OperationalError

from config.celery import app as celery_app
from core import tasks
from core.tasks import BrokerUnavailable, enqueue

# Registering the apps' tasks on first use runs Django's checks, which read the database.
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def broker_up_again():
    tasks._broker_down_until = 0.0
    yield
    tasks._broker_down_until = 0.0


@pytest.fixture
def real_broker_at():
    """Publish for real (not eagerly) to the given broker URL, with the portal's kind of broker options."""
    conf = celery_app.conf
    # The app reads Django's settings (namespace CELERY), so the prefixed names are the ones that count.
    names = ["CELERY_BROKER_URL", "CELERY_BROKER_WRITE_URL", "CELERY_BROKER_TRANSPORT_OPTIONS"]
    saved = {name: conf.get(name) for name in names}

    def point_at(url: str) -> None:
        conf.task_always_eager = False
        conf["CELERY_BROKER_URL"] = conf["CELERY_BROKER_WRITE_URL"] = url
        conf["CELERY_BROKER_TRANSPORT_OPTIONS"] = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    yield point_at
    for name, value in saved.items():
        conf[name] = value
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def frozen_broker():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)  # the kernel accepts for a stopped process; nobody ever answers
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    server.close()


def test_a_frozen_broker_costs_one_publish_timeout_then_fails_at_once(
    real_broker_at, frozen_broker, settings
):
    settings.REDIS_DOWN_RETRY_SECONDS = 30
    real_broker_at(frozen_broker)
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable):
        enqueue("comms.tasks.sweep_outbox")
    first = time.monotonic() - started
    assert first < 2, first  # one socket timeout, not minutes

    started = time.monotonic()
    for _ in range(5):
        with pytest.raises(BrokerUnavailable):
            enqueue("comms.tasks.sweep_outbox")
    assert time.monotonic() - started < 0.1


def test_after_the_pause_the_broker_is_tried_again(monkeypatch, settings):
    settings.REDIS_DOWN_RETRY_SECONDS = 1
    celery_app.conf.task_always_eager = False
    calls = []

    def failing_publish(self, *args, **kwargs):
        calls.append(1)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("celery.canvas.Signature.apply_async", failing_publish)
    for _ in range(3):
        with pytest.raises(BrokerUnavailable):
            enqueue("comms.tasks.sweep_outbox")
    assert len(calls) == 1
    time.sleep(1.1)
    with pytest.raises(BrokerUnavailable):
        enqueue("comms.tasks.sweep_outbox")
    assert len(calls) == 2


def test_in_eager_mode_the_tasks_own_errors_are_not_taken_for_an_outage(monkeypatch):
    def task_fails(self, *args, **kwargs):
        raise OSError("the task's own error")

    monkeypatch.setattr("celery.canvas.Signature.apply_async", task_fails)
    with pytest.raises(OSError, match="the task's own error"):
        enqueue("comms.tasks.sweep_outbox")
    assert not tasks.broker_is_down()
