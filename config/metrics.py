"""/metrics: the portal's own state in Prometheus' text format, for the team's Prometheus.

Off (404) until METRICS_TOKEN or METRICS_ALLOWED_ADDRESSES is set; then a
scrape needs `Authorization: Bearer <METRICS_TOKEN>` or comes from an allowed
address. What is in the database is read at each scrape (bounded: counts by
state and a few aggregates; sent deliveries through comms.metrics' running
tally); what is in no table (alert events refused) is counted by each web
process (integrations/metrics.py). Example alerting rules and a Grafana
dashboard are in deploy/prometheus/ and deploy/grafana/ (README, Metrics).
"""

import hmac
import ipaddress
import logging
import os
from collections.abc import Iterator
from datetime import timedelta

import redis
from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from comms import metrics as outbox
from comms.models import Channel, Delivery
from incidents.models import Incident
from integrations.metrics import ALERT_EVENTS
from roles.models import Page

logger = logging.getLogger(__name__)

# Upper bounds (seconds) of the time-to-acknowledge histogram.
ACK_BUCKETS = (30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)
# Celery's default queue, and the lists kombu's Redis transport keeps for its priority steps.
CELERY_QUEUES = ("celery",)
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")
REDIS_TIMEOUT_SECONDS = 0.5


def _histogram_buckets(bounds, counts, total: int) -> list[tuple[str, float]]:
    pairs = [(repr(float(bound)), count) for bound, count in zip(bounds, counts, strict=True)]
    return pairs + [("+Inf", total)]


class PortalCollector(Collector):
    """The families, read fresh at each scrape."""

    def collect(self) -> Iterator:
        yield from self._incidents()
        yield from self._outbox()
        yield from self._pages()
        yield from self._queues()

    def _incidents(self) -> Iterator:
        family = GaugeMetricFamily(
            "coolhead_incidents_open", "Open incidents by severity and status.", labels=["severity", "status"]
        )
        rows = (
            Incident.objects.filter(status__in=Incident.OPEN_STATUSES)
            .order_by()
            .values("severity", "status")
            .annotate(count=Count("id"))
        )
        for row in rows:
            family.add_metric([f"SEV-{row['severity']}", row["status"]], row["count"])
        yield family

    def _outbox(self) -> Iterator:
        sent = outbox.sent_totals()
        deliveries = GaugeMetricFamily(
            "coolhead_outbox_deliveries",
            "Outbox deliveries by channel kind and state (sent: all time; the others: now).",
            labels=["channel_kind", "state"],
        )
        for (kind, state), count in sorted(outbox.unsent_counts().items()):
            deliveries.add_metric([kind, state], count)
        for kind, total in sorted(sent.items()):
            deliveries.add_metric([kind, Delivery.State.SENT], total["count"])
        yield deliveries
        yield GaugeMetricFamily(
            "coolhead_outbox_oldest_pending_seconds",
            "Age of the oldest delivery still to go out (pending, sending or waiting to retry); 0 if none.",
            value=outbox.oldest_pending_age(),
        )
        latency = HistogramMetricFamily(
            "coolhead_outbox_delivery_latency_seconds",
            "From a message written to its delivery sent (retries included), by channel kind.",
            labels=["channel_kind"],
        )
        for kind in Channel.Kind.values:
            total = sent.get(kind)
            if total is None:
                continue
            latency.add_metric(
                [kind],
                _histogram_buckets(outbox.LATENCY_BUCKETS, total["buckets"], total["count"]),
                sum_value=total["seconds"],
            )
        yield latency

    def _pages(self) -> Iterator:
        pages = CounterMetricFamily("coolhead_pages", "Pages sent, by target.", labels=["target"])
        for row in Page.objects.order_by().values("target").annotate(count=Count("id")):
            pages.add_metric([row["target"]], row["count"])
        yield pages
        waited = ExpressionWrapper(F("acknowledged_at") - F("created_at"), output_field=DurationField())
        buckets = {
            f"le{i}": Count("id", filter=Q(acknowledged_at__lte=F("created_at") + timedelta(seconds=bound)))
            for i, bound in enumerate(ACK_BUCKETS)
        }
        acked = Page.objects.filter(acknowledged_at__isnull=False).aggregate(
            count=Count("id"), seconds=Sum(waited), **buckets
        )
        family = HistogramMetricFamily(
            "coolhead_page_time_to_acknowledge_seconds", "From a page sent to its acknowledgement."
        )
        seconds = acked["seconds"].total_seconds() if acked["seconds"] is not None else 0.0
        counts = [acked[f"le{i}"] for i in range(len(ACK_BUCKETS))]
        family.add_metric(
            [], _histogram_buckets(ACK_BUCKETS, counts, acked["count"]), sum_value=max(seconds, 0.0)
        )
        yield family

    def _queues(self) -> Iterator:
        """Tasks waiting in the broker (Redis only; the embedded filesystem broker has no such count)."""
        if not settings.REDIS_URL:
            return
        up = GaugeMetricFamily("coolhead_celery_broker_up", "1 when the broker answered this scrape.")
        depth = GaugeMetricFamily(
            "coolhead_celery_queue_length", "Tasks waiting in the broker, by queue.", labels=["queue"]
        )
        try:
            client = redis.Redis.from_url(
                settings.REDIS_URL,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                retry_on_timeout=False,
            )
            with client.pipeline(transaction=False) as pipe:
                for queue in CELERY_QUEUES:
                    for suffix in _PRIORITY_SUFFIXES:
                        pipe.llen(queue + suffix)
                lengths = pipe.execute()
            client.close()
        except (redis.RedisError, OSError) as error:
            # Fail soft: the rest of the scrape is still worth having.
            logger.warning("Metrics: the broker did not answer (%s)", type(error).__name__)
            up.add_metric([], 0)
            yield up
            yield depth  # no sample: unknown, not zero
            return
        up.add_metric([], 1)
        per_queue = len(_PRIORITY_SUFFIXES)
        for n, queue in enumerate(CELERY_QUEUES):
            depth.add_metric([queue], sum(lengths[n * per_queue : (n + 1) * per_queue]))
        yield up
        yield depth


def _allowed_address(request: HttpRequest) -> bool:
    try:
        client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(client in network for network in settings.METRICS_ALLOWED_NETWORKS)


def _bearer_ok(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(token.strip(), expected)


def registry() -> CollectorRegistry:
    found = CollectorRegistry(auto_describe=False)
    found.register(PortalCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(found)  # every gunicorn worker's counters, added up
    else:
        found.register(ALERT_EVENTS)
    return found


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_TOKEN and not settings.METRICS_ALLOWED_NETWORKS:
        return HttpResponse("Metrics are off: set METRICS_TOKEN or METRICS_ALLOWED_ADDRESSES.\n", status=404)
    if not (_bearer_ok(request) or _allowed_address(request)):
        response = HttpResponse("Send 'Authorization: Bearer <METRICS_TOKEN>'.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
