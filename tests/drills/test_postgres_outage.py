"""PostgreSQL taken away under the status page, then Redis too.

The portal reaches PostgreSQL through a TCP proxy that the drill owns (the
PostgreSQL cluster is shared with other work on the machine and is never
stopped): stopping the proxy refuses new connections and cuts the open ones,
which is what the web server sees when the database goes down.
"""

import time

import pytest

from tests.drills.flows import (
    ANSWER_WITHIN_SECONDS,
    READYZ_WITHIN_SECONDS,
    assert_answer,
    declare_api,
    publish_api,
    unique,
)
from tests.drills.harness import wait_until

pytestmark = pytest.mark.drill

PUBLIC = ["/status/", "/status/api/v2/summary.json", "/status/api/v2/incidents.json", "/status/history.atom"]
FAULT_SECONDS = 6
# Once PostgreSQL is back, a new public update is on the status page within this.
RECOVERY_WITHIN_SECONDS = 15


def _shows(drill, title: str) -> bool:
    answer = drill.browser().get("/status/api/v2/incidents.json")
    return answer.status == 200 and title in answer.text


def _keeps_serving(drill, title: str, seconds: float) -> int:
    """Every public document, again and again for `seconds`: 200, fast, with the last update in it."""
    visitor = drill.browser()
    served = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for path in PUBLIC:
            answer = visitor.get(path)
            assert_answer(answer, 200, f"GET {path}")
            if path != "/status/history.atom":
                assert title in answer.text, f"{path} lost the last update"
            served += 1
    return served


def test_the_status_page_keeps_serving_while_postgresql_is_down(drill):
    api = drill.api()
    answer = declare_api(api, unique("Status drill"))
    assert answer.status == 201, answer.text
    incident_id = answer.json()["id"]
    title = unique("Payments are slow")
    assert publish_api(api, incident_id, title).status == 201
    wait_until(lambda: _shows(drill, title), 10, "the update on the status page")

    drill.proxy.stop()
    try:
        served = _keeps_serving(drill, title, FAULT_SECONDS)
        ready = drill.browser().get("/readyz")
        assert ready.status == 503 and ready.seconds < READYZ_WITHIN_SECONDS, (ready.seconds, ready.text)
        assert ready.json()["down"] == ["database"]
        # A write cannot happen now; the API says "retry" (503), not "bug" (500).
        write = publish_api(api, incident_id, unique("Not now"))
        assert write.status == 503 and write.seconds < ANSWER_WITHIN_SECONDS, (write.status, write.text[:300])
        assert write.json()["code"] == "unavailable" and write.headers["Retry-After"] == "5"

        # Redis goes too: the last good rendering on disk answers.
        drill.redis.stop()
        served += _keeps_serving(drill, title, 3)
        drill.redis.start()
    finally:
        drill.proxy.start()
    print(f"\nPostgreSQL down: {served} public documents served, none failed")

    started = time.monotonic()
    newer = unique("Payments recovered")
    wait_until(lambda: publish_api(api, incident_id, newer).status == 201, RECOVERY_WITHIN_SECONDS, "a write")
    wait_until(lambda: _shows(drill, newer), RECOVERY_WITHIN_SECONDS, "the new update on the status page")
    took = time.monotonic() - started
    print(f"PostgreSQL back: a new update was public {took:.1f} s later")
    assert took < RECOVERY_WITHIN_SECONDS
    assert drill.browser().get("/readyz").status == 200
