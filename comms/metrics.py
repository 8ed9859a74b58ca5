"""What /metrics says of the outbox (config/metrics.py assembles the families).

Deliveries still under way (pending, sending, failed, dead) are few and
indexed by state: counted on each scrape. Sent deliveries are most of the
outbox and grow for ever: they are counted once, into DeliveryTally, as the
watermark `counted_until` advances (a scrape reads only what was sent since
the last one, through the index on sent_at). The watermark stays SETTLE
behind the clock, so that a delivery whose transaction was still committing
is not passed over; the deliveries sent within SETTLE are added to the
answer without being stored, so the totals are current.
"""

from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Min, Q, Sum
from django.utils import timezone

from comms.models import Delivery, DeliveryTally

# Upper bounds (seconds) of the delivery latency histogram: from written to sent.
LATENCY_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
SETTLE = timedelta(minutes=2)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Totals = dict[str, dict]  # channel kind -> {"count": n, "seconds": float, "buckets": [n per bound]}


def _count_sent(deliveries) -> Totals:
    latency = ExpressionWrapper(F("sent_at") - F("created_at"), output_field=DurationField())
    buckets = {
        f"le{i}": Count("id", filter=Q(sent_at__lte=F("created_at") + timedelta(seconds=bound)))
        for i, bound in enumerate(LATENCY_BUCKETS)
    }
    rows = (
        deliveries.order_by()
        .values("channel__kind")
        .annotate(count=Count("id"), seconds=Sum(latency), **buckets)
    )
    totals: Totals = {}
    for row in rows:
        seconds = row["seconds"]
        totals[row["channel__kind"]] = {
            "count": row["count"],
            "seconds": max(seconds.total_seconds(), 0.0) if seconds is not None else 0.0,
            "buckets": [row[f"le{i}"] for i in range(len(LATENCY_BUCKETS))],
        }
    return totals


def _add(into: Totals, more: Totals) -> Totals:
    for kind, part in more.items():
        total = into.setdefault(kind, {"count": 0, "seconds": 0.0, "buckets": [0] * len(LATENCY_BUCKETS)})
        total["count"] += part["count"]
        total["seconds"] += part["seconds"]
        total["buckets"] = [a + b for a, b in zip(total["buckets"], part["buckets"], strict=True)]
    return into


def _tally() -> DeliveryTally:
    tally = DeliveryTally.objects.select_for_update().filter(pk=1).first()
    if tally is None:
        try:
            with transaction.atomic():
                DeliveryTally.objects.create(pk=1, counted_until=_EPOCH, totals={})
        except IntegrityError:
            pass  # another scrape made it first
        tally = DeliveryTally.objects.select_for_update().get(pk=1)
    return tally


@transaction.atomic
def sent_totals() -> Totals:
    """Every delivery ever sent, by channel kind: how many, their latency in total and per bucket."""
    until = timezone.now() - SETTLE
    # One scrape at a time moves the watermark (the row lock); a second waits, then finds less to do.
    tally = _tally()
    if until > tally.counted_until:
        newly = _count_sent(Delivery.objects.filter(sent_at__gt=tally.counted_until, sent_at__lte=until))
        tally.totals = _add(dict(tally.totals), newly)
        tally.counted_until = until
        tally.save(update_fields=["totals", "counted_until"])
    recent = _count_sent(Delivery.objects.filter(sent_at__gt=tally.counted_until))
    return _add({kind: dict(part) for kind, part in tally.totals.items()}, recent)


def unsent_counts() -> dict[tuple[str, str], int]:
    """Deliveries not sent (yet), by (channel kind, state)."""
    rows = (
        # By the states the index on state starts with, not "not sent": sent rows are most of them.
        Delivery.objects.filter(state__in=[s for s in Delivery.State.values if s != Delivery.State.SENT])
        .order_by()
        .values("channel__kind", "state")
        .annotate(count=Count("id"))
    )
    return {(row["channel__kind"], row["state"]): row["count"] for row in rows}


def oldest_pending_age() -> float:
    """Seconds since the oldest delivery still to go out (pending, sending, to retry) was written."""
    waiting = [Delivery.State.PENDING, Delivery.State.SENDING, Delivery.State.FAILED]
    oldest = Delivery.objects.filter(state__in=waiting).aggregate(oldest=Min("created_at"))["oldest"]
    return max((timezone.now() - oldest).total_seconds(), 0.0) if oldest else 0.0
