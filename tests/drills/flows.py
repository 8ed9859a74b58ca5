"""What a responder, a script and Alertmanager do during a drill, each answer timed, and the checks after."""

from __future__ import annotations

import copy
import json
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

from tests.drills.harness import Answer, Browser

FIXTURES = Path(__file__).resolve().parents[1] / "api" / "fixtures"

# "Well under 5 s": what a request may take while Redis is down or frozen (one
# Redis timeout of 0.5 s and one broker timeout of 1.5 s at most, config/settings.py).
ANSWER_WITHIN_SECONDS = 3.0
READYZ_WITHIN_SECONDS = 2.0


def unique(label: str) -> str:
    return f"{label} {uuid.uuid4().hex[:8]}"


def declare_web(browser: Browser, title: str) -> Answer:
    return browser.submit("/incidents/declare/", {"title": title, "severity": "3", "summary": "drill"})


def declare_api(api: Browser, title: str) -> Answer:
    body = {"title": title, "severity": 2, "summary": "drill", "rollback_considered": "No: nothing deployed."}
    return api.post("/api/v1/incidents/", body=body)


def page_api(api: Browser, incident_id: int, email: str) -> Answer:
    return api.post(f"/api/v1/incidents/{incident_id}/pages/", body={"user": email, "message": "drill page"})


def publish_api(api: Browser, incident_id: int, title: str) -> Answer:
    body = {"status": "investigating", "title": title, "body": "We are looking into it (drill)."}
    return api.post(f"/api/v1/incidents/{incident_id}/public-updates/", body=body)


def alertmanager_payload(group: str) -> dict:
    data = copy.deepcopy(json.loads((FIXTURES / "alertmanager_firing.json").read_text()))
    data["groupKey"] = f'{{}}:{{alertname="{group}"}}'
    data["groupLabels"] = {"alertname": group}
    data["commonLabels"]["alertname"] = group
    for n, alert in enumerate(data["alerts"]):
        alert["labels"]["alertname"] = group
        alert["fingerprint"] = uuid.uuid5(uuid.NAMESPACE_DNS, f"{group}-{n}").hex[:16]
    return data


def alert(browser: Browser, integration_key: str, group: str) -> Answer:
    return browser.post(
        "/integrations/alertmanager/",
        body=alertmanager_payload(group),
        headers={"Authorization": f"Bearer {integration_key}"},
    )


# Every answer checked, with how long it took: printed by the drills (pytest -s) for the record.
TIMINGS: list[tuple[str, int, float]] = []


def assert_answer(answer: Answer, status: int | tuple[int, ...], what: str) -> None:
    statuses = (status,) if isinstance(status, int) else status
    TIMINGS.append((what, answer.status, answer.seconds))
    assert answer.status in statuses, f"{what}: {answer.status} {answer.text[:500]}"
    assert answer.seconds < ANSWER_WITHIN_SECONDS, f"{what} took {answer.seconds:.2f} s"


def print_timings(title: str) -> None:
    print(f"\n{title}")
    for what, status, seconds in TIMINGS:
        print(f"  {seconds:6.3f} s  {status}  {what}")
    TIMINGS.clear()


def deliveries_since(t0: datetime):
    from comms.models import Delivery

    return Delivery.objects.filter(created_at__gte=t0).select_related("channel")


def all_delivered(t0: datetime, allowed_dead: int = 0) -> bool:
    """Every delivery written since t0 is sent (none pending, sending, or waiting for a retry)."""
    from comms.models import Delivery

    rows = deliveries_since(t0)
    open_ = rows.exclude(state__in=[Delivery.State.SENT, Delivery.State.DEAD]).exists()
    return not open_ and rows.filter(state=Delivery.State.DEAD).count() <= allowed_dead


def assert_mail_once(t0: datetime, sink) -> int:
    """Each e-mail delivery since t0 is sent, and reached the SMTP server exactly once."""
    from comms.models import Channel, Delivery

    emails = deliveries_since(t0).filter(channel__kind=Channel.Kind.EMAIL)
    keys = set(emails.values_list("idempotency_key", flat=True))
    assert not emails.exclude(state=Delivery.State.SENT).exists(), list(
        emails.exclude(state=Delivery.State.SENT).values_list("state", "last_error")
    )
    with sink.lock:
        seen = Counter(r.headers.get("X-Coolhead-Delivery") for r in sink.received)
    twice = {key: n for key, n in seen.items() if key in keys and n > 1}
    assert not twice, f"sent more than once: {twice}"
    missing = keys - set(seen)
    assert not missing, f"{len(missing)} e-mails marked sent never reached the SMTP server"
    return len(keys)
