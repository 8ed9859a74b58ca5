"""The Celery worker: killed with -9 in the middle of a fan-out, and Redis lost under a task in flight."""

import time

import pytest
from django.utils import timezone

from tests.drills.conftest import recover
from tests.drills.flows import (
    all_delivered,
    assert_answer,
    assert_mail_once,
    declare_api,
    publish_api,
    unique,
)
from tests.drills.harness import wait_until

pytestmark = pytest.mark.drill

SUBSCRIBERS = 60
RECOVERY_WITHIN_SECONDS = 40


def _subscribers(n: int, tag: str, **webhooks: str) -> list:
    from statuspage.models import Subscriber

    now = timezone.now()
    people = [
        Subscriber.objects.create(kind="email", email=f"{tag}-{i}@example.com", confirmed_at=now)
        for i in range(n)
    ]
    hooks = [
        Subscriber.objects.create(
            kind="webhook", email=f"{tag}-{name}@example.com", webhook_url=url, confirmed_at=now
        )
        for name, url in webhooks.items()
    ]
    return people + hooks


def _unsubscribe(subscribers: list) -> None:
    from statuspage.models import Subscriber

    Subscriber.objects.filter(pk__in=[s.pk for s in subscribers]).update(unsubscribed_at=timezone.now())


def _incident(drill) -> int:
    answer = declare_api(drill.api(), unique("Fan-out drill"))
    assert answer.status == 201, answer.text
    return answer.json()["id"]


def test_a_worker_killed_mid_fan_out_loses_nothing_and_sends_nothing_twice(drill):
    from comms.models import Delivery

    incident_id = _incident(drill)
    subscribers = _subscribers(SUBSCRIBERS, unique("kill").replace(" ", "-"), hook=drill.receiver.url("/ok"))
    sink = drill.sink
    t0 = timezone.now()
    try:
        with sink.lock:
            before = len(sink.received)
        # The SMTP server holds the 26th message of the fan-out until its sender goes away.
        sink.trap_at = before + 25
        assert_answer(publish_api(drill.api(), incident_id, unique("Kill drill")), 201, "the public update")
        wait_until(sink.trapped.is_set, 30, "the fan-out to reach the held message")
        # Let the other batches finish, so that the held one is the only message on the wire.
        last = -1
        while last != len(sink.received):
            last = len(sink.received)
            time.sleep(1.0)
        drill.worker.kill()
        claimed = Delivery.objects.filter(created_at__gte=t0, state=Delivery.State.SENDING).count()
        assert claimed >= 1, "the kill should leave claimed deliveries behind"
        drill.start_worker()

        took = recover(
            lambda: all_delivered(t0), within=RECOVERY_WITHIN_SECONDS, what="the fan-out", stack=drill
        )
        print(f"\nworker kill -9: the fan-out finished {took:.1f} s after the new worker started")
    finally:
        sink.trap_at = None
        sink.trapped.clear()
        _unsubscribe(subscribers)

    assert assert_mail_once(t0, sink) >= SUBSCRIBERS
    assert Delivery.objects.filter(
        created_at__gte=t0, attempts__gte=2
    ).exists()  # claimed twice: once by the dead
    hook = drill.receiver.state.deliveries("/ok")
    assert len(hook) == 1 and hook[0].status == 200, hook


@pytest.mark.parametrize("fault", ["stopped", "frozen"])
def test_the_worker_lives_through_losing_redis_with_a_task_in_flight(drill, fault):
    """Celery 5.7.0 died here ("Restoring 1 unacknowledged message(s)", then AttributeError 'hostname')."""
    incident_id = _incident(drill)
    state = drill.receiver.state
    state.slow_seconds, state.slow_times = 4.0, 1
    subscribers = _subscribers(0, unique("inflight").replace(" ", "-"), hook=drill.receiver.url("/slow"))
    t0 = timezone.now()
    try:
        assert_answer(publish_api(drill.api(), incident_id, unique("In flight")), 201, "the public update")
        wait_until(lambda: state.counts.get("/slow"), 30, "the webhook delivery to be in flight")
        if fault == "stopped":
            drill.redis.stop()
        else:
            drill.redis.freeze()
        time.sleep(6)  # the delivery finishes meanwhile; the worker notices Redis is gone
        if fault == "stopped":
            drill.redis.start()
        else:
            drill.redis.thaw()
        time.sleep(3)
        assert drill.worker.alive(), f"the worker died with Redis:\n{drill.logs_tail()}"
        assert "Unrecoverable error" not in drill.worker.log.read_text(errors="replace")

        # And it delivers again: a new update after Redis is back reaches the same receiver.
        state.slow_times = 0
        t1 = timezone.now()
        assert_answer(publish_api(drill.api(), incident_id, unique("After")), 201, "the next public update")
        took = recover(
            lambda: all_delivered(t0) and len(state.deliveries("/slow", 200)) >= 2,
            within=RECOVERY_WITHIN_SECONDS,
            what="both webhook deliveries",
            stack=drill,
        )
        print(f"\nRedis {fault} with a task in flight: delivering again {took:.1f} s after the next update")
        assert all_delivered(t1)
    finally:
        state.slow_seconds, state.slow_times = 3.0, 2
        _unsubscribe(subscribers)
    ids = [r.delivery for r in state.deliveries("/slow", 200)]
    assert len(ids) == len(set(ids)) == 2, ids  # each update once
