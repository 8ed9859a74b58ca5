"""/metrics: Prometheus text format, parsed by prometheus_client's own parser; refused without the token."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from comms.metrics import SETTLE
from comms.models import Delivery, DeliveryTally
from comms.selectors import email_channel
from comms.services import Recipient, message_send
from roles.services import page_acknowledge, page_send
from tests.factories import IncidentFactory, UserFactory

TOKEN = "metrics-token-7Hq2Lz9Wc4"


@pytest.fixture
def metrics_on(db, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []


def scrape(client, **headers) -> dict:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}", **headers})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            samples[key] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_it_is_off_until_a_token_or_an_address_is_set(client, db, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = []
    assert client.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404


def test_it_refuses_access_without_the_token(client, db, metrics_on):
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": TOKEN},
        {"Authorization": "Basic x"},
    ):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
        assert b"coolhead_" not in response.content


def test_an_allowed_address_scrapes_without_a_token(client, db, settings):
    import ipaddress

    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.1.0.0/16")]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.2.0.1").status_code == 401


def test_it_exposes_the_listed_series(client, metrics_on, django_capture_on_commit_callbacks):
    responder = UserFactory(email="resp@example.com")
    with time_machine.travel(timezone.now() - timedelta(minutes=30), tick=False):
        major = IncidentFactory(severity=1, declared_by=responder)
        IncidentFactory(severity=3, declared_by=responder)
        with django_capture_on_commit_callbacks(execute=True):
            page = page_send(incident=major, by=None, person=responder)
    with time_machine.travel(page.created_at + timedelta(seconds=90), tick=False):
        page_acknowledge(page=page, user=responder)
    waiting = message_send(
        kind="other",
        subject="Waiting",
        body="x",
        recipients=[Recipient(channel=email_channel(), address="waiting@example.com")],
    )
    Delivery.objects.filter(message=waiting).update(created_at=timezone.now() - timedelta(minutes=7))

    samples = scrape(client)
    assert value(samples, "coolhead_incidents_open", severity="SEV-1", status="triage") == 1
    assert value(samples, "coolhead_incidents_open", severity="SEV-3", status="triage") == 1
    # The page's e-mail went half an hour ago (the tally); the waiting e-mail is pending now.
    assert value(samples, "coolhead_outbox_deliveries", channel_kind="email", state="sent") == 1
    assert value(samples, "coolhead_outbox_deliveries", channel_kind="email", state="pending") == 1
    assert value(samples, "coolhead_outbox_deliveries", channel_kind="in_app", state="sent") == 1
    assert 7 * 60 <= value(samples, "coolhead_outbox_oldest_pending_seconds") < 8 * 60
    assert value(samples, "coolhead_outbox_delivery_latency_seconds_count", channel_kind="email") == 1
    assert (
        value(samples, "coolhead_outbox_delivery_latency_seconds_bucket", channel_kind="email", le="+Inf")
        == 1
    )
    assert value(samples, "coolhead_pages_total", target="person") == 1
    assert value(samples, "coolhead_page_time_to_acknowledge_seconds_count") == 1
    assert value(samples, "coolhead_page_time_to_acknowledge_seconds_sum") == 90
    assert value(samples, "coolhead_page_time_to_acknowledge_seconds_bucket", le="60.0") == 0
    assert value(samples, "coolhead_page_time_to_acknowledge_seconds_bucket", le="120.0") == 1


def test_sent_deliveries_are_counted_once_whatever_the_number_of_scrapes(client, metrics_on):
    channel = email_channel()

    def sent(n: int, ago: timedelta, took: timedelta) -> None:
        message = message_send(
            kind="other",
            subject="Hello",
            body="x",
            recipients=[Recipient(channel=channel, address=f"p{i}@example.com") for i in range(n)],
        )
        written = timezone.now() - ago
        Delivery.objects.filter(message=message).update(
            state=Delivery.State.SENT, created_at=written, sent_at=written + took
        )

    sent(3, timedelta(hours=1), timedelta(seconds=2))  # counted into the tally
    sent(2, SETTLE / 2, timedelta(seconds=40))  # within the settling margin: added live
    first = scrape(client)
    assert value(first, "coolhead_outbox_deliveries", channel_kind="email", state="sent") == 5
    assert (
        value(first, "coolhead_outbox_delivery_latency_seconds_bucket", channel_kind="email", le="5.0") == 3
    )
    assert (
        value(first, "coolhead_outbox_delivery_latency_seconds_bucket", channel_kind="email", le="60.0") == 5
    )
    assert (
        value(first, "coolhead_outbox_delivery_latency_seconds_sum", channel_kind="email") == 3 * 2 + 2 * 40
    )
    tally = DeliveryTally.objects.get()
    assert tally.totals["email"]["count"] == 3  # the two recent ones are not stored yet

    second = scrape(client)
    assert value(second, "coolhead_outbox_deliveries", channel_kind="email", state="sent") == 5
    # Later, the margin has passed: they move into the tally, still counted once.
    with time_machine.travel(timezone.now() + SETTLE + timedelta(minutes=1), tick=False):
        third = scrape(client)
    assert value(third, "coolhead_outbox_deliveries", channel_kind="email", state="sent") == 5
    assert DeliveryTally.objects.get().totals["email"]["count"] == 5


def test_alert_events_are_counted_by_outcome(client, metrics_on):
    from roles.models import Service

    service = Service.objects.create(name="Checkout")
    event = {
        "routing_key": service.integration_key,
        "event_action": "trigger",
        "dedup_key": "disk-full",
        "payload": {"summary": "Disk full", "source": "db-1", "severity": "critical"},
    }
    before = scrape(client)

    def count(samples, outcome):
        return samples.get(
            ("coolhead_alert_events_total", (("outcome", outcome), ("source", "pagerduty"))), 0
        )

    url = "/integrations/pagerduty/v2/enqueue"
    for _ in range(2):
        assert client.post(url, json.dumps(event), content_type="application/json").status_code == 202
    bad = {**event, "routing_key": "nope"}
    assert client.post(url, json.dumps(bad), content_type="application/json").status_code == 400
    assert client.post(url, "{not json", content_type="application/json").status_code == 400
    after = scrape(client)
    assert count(after, "accepted") - count(before, "accepted") == 1
    assert count(after, "deduplicated") - count(before, "deduplicated") == 1
    assert count(after, "rejected") - count(before, "rejected") == 2


@pytest.mark.redis
def test_celery_queue_depth_comes_from_redis(client, metrics_on, settings):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL (the CI run sets it)")
    import redis

    connection = redis.Redis.from_url(settings.REDIS_URL)
    connection.delete("celery")
    connection.rpush("celery", "a", "b", "c")
    try:
        samples = scrape(client)
    finally:
        connection.delete("celery")
    assert value(samples, "coolhead_celery_broker_up") == 1
    assert value(samples, "coolhead_celery_queue_length", queue="celery") == 3


def test_a_broker_that_does_not_answer_costs_the_scrape_nothing_else(client, metrics_on, settings):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    samples = scrape(client)
    assert value(samples, "coolhead_celery_broker_up") == 0
    # The other families are all there.
    assert value(samples, "coolhead_outbox_oldest_pending_seconds") == 0
    assert value(samples, "coolhead_page_time_to_acknowledge_seconds_count") == 0


def test_the_scrape_has_a_bounded_number_of_queries(client, metrics_on, django_assert_max_num_queries):
    responder = UserFactory()
    for severity in (1, 2, 3):
        IncidentFactory(severity=severity, declared_by=responder)
    scrape(client)
    with django_assert_max_num_queries(12):
        scrape(client)


def test_the_example_rules_and_dashboard_use_series_that_exist(client, metrics_on, settings):
    """deploy/: every coolhead_* series the alerting rules and the Grafana dashboard query is served."""
    import re
    from pathlib import Path

    import yaml

    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # the broker's series are there (as 0) without a Redis
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    suffixes = {"counter": ["_total"], "gauge": [""], "histogram": ["_bucket", "_count", "_sum"]}
    served = {
        family.name + suffix
        for family in text_string_to_metric_families(response.content.decode())
        for suffix in suffixes[family.type]
    }
    deploy = Path(settings.BASE_DIR) / "deploy"
    rules = yaml.safe_load((deploy / "prometheus" / "coolhead-alerts.yml").read_text())["groups"][0]["rules"]
    dashboard = json.loads((deploy / "grafana" / "coolhead-dashboard.json").read_text())
    queries = [rule["expr"] for rule in rules] + [
        target["expr"] for panel in dashboard["panels"] for target in panel["targets"]
    ]
    used = {name for query in queries for name in re.findall(r"\bcoolhead_[a-z_]+", query)}
    assert len(used) >= 10
    assert used <= served, used - served
    assert dashboard["__inputs"][0]["pluginId"] == "prometheus"
