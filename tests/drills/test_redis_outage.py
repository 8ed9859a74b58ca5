"""Redis stopped (a crash: it comes back empty) and Redis frozen (SIGSTOP) while people work.

During the fault, through the real web server: a declare from the web form and
from the API, a page, a public update, an Alertmanager notification, a sign-in
and /readyz. Each answers quickly with the status it would have anyway, and
writes its rows exactly once (a client that had timed out and retried would
have written them twice). Cache and broker are one Redis here, as in
docker-compose. Once Redis is back, the worker (which lived through it) and
beat's sweeps deliver everything the requests left behind, each e-mail once.
"""

import time

import pytest
from django.utils import timezone

from tests.drills.conftest import PASSWORD, recover
from tests.drills.flows import (
    READYZ_WITHIN_SECONDS,
    TIMINGS,
    alert,
    all_delivered,
    assert_answer,
    assert_mail_once,
    declare_api,
    declare_web,
    page_api,
    print_timings,
    publish_api,
    unique,
)

pytestmark = pytest.mark.drill

# Once Redis answers again, everything written during the fault is delivered within this
# (the drills' grace periods are seconds; production adds up to a beat minute and
# COMMS_STRANDED_AFTER_SECONDS, see the README).
RECOVERY_WITHIN_SECONDS = 30


def _during_the_fault(drill, signed_in, incident_id):
    """Everyone's requests while Redis is unavailable; returns what must exist exactly once."""
    from incidents.models import Incident

    api = drill.api()
    made = {}

    TIMINGS.clear()
    made["declare (web)"] = title = unique("Web declare")
    assert_answer(declare_web(signed_in, title), 302, "declare from the web form")

    made["declare (API)"] = title = unique("API declare")
    answer = declare_api(api, title)
    assert_answer(answer, 201, "declare through the API")

    answer = page_api(api, incident_id, "drill-owner@example.com")
    assert_answer(answer, 201, "page through the API")
    made["page"] = answer.json()["id"]

    made["public update"] = title = unique("Public update")
    assert_answer(publish_api(api, incident_id, title), 201, "public update through the API")

    made["alert"] = group = unique("DrillAlert").replace(" ", "")
    assert_answer(alert(drill.browser(), drill.integration_key, group), 200, "Alertmanager notification")

    # Signing in: allauth's rate limit counts in the process while the cache is down.
    newcomer = drill.browser()
    assert_answer(newcomer.sign_in(drill.admin_email, PASSWORD), 302, "sign-in")
    assert_answer(newcomer.get("/"), 200, "the dashboard right after signing in")

    ready = drill.browser().get("/readyz")
    TIMINGS.append(("/readyz", ready.status, ready.seconds))
    assert ready.status == 503, ready.text
    assert ready.seconds < READYZ_WITHIN_SECONDS, f"/readyz took {ready.seconds:.2f} s"
    assert {"cache", "broker"} <= set(ready.json()["down"]), ready.json()
    assert "database" not in ready.json()["down"]

    assert Incident.objects.filter(title=made["declare (web)"]).count() == 1
    assert Incident.objects.filter(title=made["declare (API)"]).count() == 1
    return made


def _exactly_once(made, incident_id):
    from incidents.models import Incident
    from roles.models import Page
    from statuspage.models import PublicUpdate

    assert Incident.objects.filter(title=made["declare (web)"]).count() == 1
    assert Incident.objects.filter(title=made["declare (API)"]).count() == 1
    assert Page.objects.filter(pk=made["page"], incident_id=incident_id).count() == 1
    updates = PublicUpdate.objects.filter(public_incident__name=made["public update"])
    assert updates.count() == 1
    assert Incident.objects.filter(title__contains=made["alert"]).count() == 1
    return updates.get()


@pytest.mark.parametrize("fault", ["stopped", "frozen"])
def test_people_keep_working_while_redis_is_down_and_nothing_is_lost_or_doubled(drill, fault):
    from roles.models import Page

    api = drill.api()
    signed_in = drill.browser()
    assert signed_in.sign_in(drill.admin_email, PASSWORD).status == 302
    answer = declare_api(api, unique("Drill incident"))
    assert answer.status == 201, answer.text
    incident_id = answer.json()["id"]
    t0 = timezone.now()

    if fault == "stopped":
        drill.redis.stop()
    else:
        drill.redis.freeze()
    try:
        made = _during_the_fault(drill, signed_in, incident_id)
    finally:
        if fault == "stopped":
            drill.redis.start()
        else:
            drill.redis.thaw()

    print_timings(f"Redis {fault}: the answers during the fault")
    update = _exactly_once(made, incident_id)
    took = recover(
        lambda: all_delivered(t0) and type(update).objects.get(pk=update.pk).notified_at is not None,
        within=RECOVERY_WITHIN_SECONDS,
        what="every delivery sent and the public update's fan-out done",
        stack=drill,
    )
    print(f"\nRedis {fault}: everything delivered {took:.1f} s after Redis came back")
    sent = assert_mail_once(t0, drill.sink)
    assert sent >= 1  # at least the page went out by e-mail
    assert drill.worker.alive(), "the worker died with Redis"
    assert Page.objects.get(pk=made["page"]).notified.exists()
    _exactly_once(made, incident_id)  # and the ticks added nothing twice
    ready = wait_ready(drill)
    assert ready.status == 200, ready.text


def wait_ready(drill):
    deadline = time.monotonic() + 15
    while True:
        ready = drill.browser().get("/readyz")
        if ready.status == 200 or time.monotonic() > deadline:
            return ready
        time.sleep(0.5)


def test_a_sign_out_during_a_freeze_stays_signed_out_when_redis_comes_back(drill):
    person = drill.browser()
    assert person.sign_in(drill.admin_email, PASSWORD).status == 302
    assert person.get("/").status == 200  # the session is in Redis now
    cookie = person.cookies["sessionid"]

    drill.redis.freeze()
    try:
        answer = person.submit("/accounts/logout/", {})
        assert_answer(answer, 302, "sign-out during the freeze")
        time.sleep(1)  # whatever else happens during the freeze
    finally:
        drill.redis.thaw()

    # The old cookie, replayed right away and for a while, against both gunicorn workers.
    thief = drill.browser()
    deadline = time.monotonic() + 4
    answers = []
    while time.monotonic() < deadline:
        thief.cookies = {"sessionid": cookie}
        answers.append(thief.get("/").status)
    assert answers and set(answers) == {302}, answers  # to the sign-in page, every time
