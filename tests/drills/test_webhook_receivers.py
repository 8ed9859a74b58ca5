"""Webhook receivers that are slow, fail for a while, fail for good, or redirect.

A public update goes to status page subscribers with webhooks at each. The
publish answers at once (delivery is the worker's); a slow or failing receiver
gets the update once it answers, with the same delivery id on every try (so it
can drop a repeat); one that never answers well, or redirects, ends as a dead
delivery with the reason, visible in the outbox, not a silent loss; a
redirect is never followed.
"""

import pytest
from django.utils import timezone

from tests.drills.conftest import recover
from tests.drills.flows import all_delivered, assert_answer, declare_api, publish_api, unique

pytestmark = pytest.mark.drill

# The slow receiver answers after SLOW_SECONDS the first two times; the channel waits TIMEOUT.
TIMEOUT_SECONDS = 1
SLOW_SECONDS = 2.5
# Retries 1 s then 2 s apart (COMMS_RETRY_BASE_SECONDS=1, capped at 2), 4 attempts at most.
RECOVERY_WITHIN_SECONDS = 30


def test_slow_failing_and_redirecting_receivers(drill):
    from comms.models import Delivery
    from statuspage import notify
    from statuspage.models import Subscriber

    channel = notify.subscriber_webhook_channel()
    saved_timeout = channel.timeout_seconds
    channel.timeout_seconds = TIMEOUT_SECONDS
    channel.save(update_fields=["timeout_seconds"])
    state = drill.receiver.state
    state.slow_seconds, state.slow_times, state.fail_times = SLOW_SECONDS, 2, 2
    tag = unique("hooks").replace(" ", "-")
    now = timezone.now()
    paths = ["/ok", "/slow", "/failing", "/broken", "/redirect"]
    subscribers = [
        Subscriber.objects.create(
            kind="webhook",
            email=f"{tag}{path.replace('/', '-')}@example.com",
            webhook_url=drill.receiver.url(path),
            confirmed_at=now,
        )
        for path in paths
    ]
    answer = declare_api(drill.api(), unique("Receivers drill"))
    assert answer.status == 201, answer.text
    t0 = timezone.now()
    try:
        published = publish_api(drill.api(), answer.json()["id"], unique("Receivers"))
        assert_answer(published, 201, "the public update (receivers are the worker's business)")
        urls = [drill.receiver.url(path) for path in paths]

        def settled() -> bool:
            written = Delivery.objects.filter(created_at__gte=t0, address__in=urls).count()
            return written == len(paths) and all_delivered(t0, allowed_dead=2)

        def states() -> str:
            rows = Delivery.objects.filter(created_at__gte=t0).values_list(
                "address", "state", "attempts", "last_error"
            )
            return "\n".join(map(str, rows)) + f"\nreceived: {state.counts}"

        took = recover(
            settled, within=RECOVERY_WITHIN_SECONDS, what="every webhook settled", stack=drill, detail=states
        )
        print(f"\nwebhook receivers: every delivery settled {took:.1f} s after the update")
    finally:
        Subscriber.objects.filter(pk__in=[s.pk for s in subscribers]).update(unsubscribed_at=timezone.now())
        channel.timeout_seconds = saved_timeout
        channel.save(update_fields=["timeout_seconds"])
        state.slow_seconds, state.slow_times, state.fail_times = 3.0, 2, 2

    hooks = {
        path: Delivery.objects.get(created_at__gte=t0, address=drill.receiver.url(path)) for path in paths
    }
    for path in ("/ok", "/slow", "/failing"):
        assert hooks[path].state == Delivery.State.SENT, (path, hooks[path].last_error)
    assert hooks["/slow"].attempts == 3 and hooks["/failing"].attempts == 3
    assert hooks["/broken"].state == Delivery.State.DEAD and hooks["/broken"].attempts == 4
    assert "500" in hooks["/broken"].last_error
    assert hooks["/redirect"].state == Delivery.State.DEAD and hooks["/redirect"].attempts == 1
    assert "302" in hooks["/redirect"].last_error or "redirect" in hooks["/redirect"].last_error.lower()

    requests = {path: state.deliveries(path) for path in paths}
    assert [r.status for r in requests["/ok"]] == [200]  # once; and never reached through the redirect
    assert not any("via=redirect" in r.query for r in requests["/ok"])
    assert len(requests["/slow"]) == 3 and len(requests["/failing"]) == 3 and len(requests["/broken"]) == 4
    for path in paths:
        ids = {r.delivery for r in requests[path]}
        assert ids == {hooks[path].idempotency_key}, (path, ids)  # one id on every try: a receiver can dedupe
    # The tries that counted: each receiver accepted the update once.
    assert [r.status for r in requests["/failing"]] == [503, 503, 200]
