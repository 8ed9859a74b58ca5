"""Enqueue a Celery task by its name.

A service schedules work that a task module will run, and the task module calls
the service: importing each other would be a cycle. Services name the task
instead; the registered task is found at call time.

Enqueueing happens on a request path (after the commit of a declare, a page, a
public update, an alert). When the broker is down or frozen it must fail in a
moment, not hang: the rows are committed, and the outbox sweeper and the status
page tick send what was not enqueued. A publish has socket timeouts and is not
retried on the spot (config/settings.py); after a failure this process does not
try the broker again for REDIS_DOWN_RETRY_SECONDS, so a request that enqueues
several tasks pays for one timeout at most.
"""

import logging
import threading
import time
from typing import Any

from celery import current_app
from django.conf import settings
from kombu.exceptions import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

BROKER_OUTAGE_ERRORS = (OperationalError, RedisConnectionError, RedisTimeoutError, OSError)


class BrokerUnavailable(OperationalError):
    """The broker failed recently; the task was not sent."""


_lock = threading.Lock()
_broker_down_until = 0.0


def broker_is_down() -> bool:
    return time.monotonic() < _broker_down_until


def _mark_broker_down() -> None:
    global _broker_down_until
    with _lock:
        was_up = not broker_is_down()
        _broker_down_until = time.monotonic() + settings.REDIS_DOWN_RETRY_SECONDS
    if was_up:
        logger.warning("broker: publish failed; not trying again for %ss", settings.REDIS_DOWN_RETRY_SECONDS)


def enqueue(task_name: str, *args: Any, **options: Any):
    """apply_async() of the registered task `task_name` with these positional arguments.

    Raises BrokerUnavailable when the broker does not take the task.
    """
    app = current_app
    if task_name not in app.tasks:
        # The web process has not imported the apps' tasks modules (a worker
        # does at start): register them once, so that the task's own options,
        # and eager mode in tests, apply as if it had been imported by hand.
        app.loader.import_default_modules()
    signature = app.signature(task_name, args=args)
    if app.conf.task_always_eager:
        return signature.apply_async(**options)  # no broker: the task's own errors propagate
    if broker_is_down():
        raise BrokerUnavailable(f"{task_name} not sent: the broker failed moments ago")
    try:
        return signature.apply_async(**options)
    except BROKER_OUTAGE_ERRORS as exc:
        _mark_broker_down()
        raise BrokerUnavailable(f"{task_name} not sent: {exc}") from exc
