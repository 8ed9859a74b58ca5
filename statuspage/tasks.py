"""Thin Celery adapters: ids in, re-fetch, call the service or the outbox, safe to run twice."""

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from comms.services import CommsError
from statuspage import notify, public_cache, services
from statuspage.documents import load_state
from statuspage.models import MaintenanceUpdate, PublicUpdate, Subscriber

logger = logging.getLogger(__name__)

# The periodic refresh re-renders the page at least this often, so that the uptime
# bars roll over at midnight and "upcoming" maintenance moves on without a publish.
REFRESH_EVERY_SECONDS = 300
# A fan-out not done this long after its update was published is taken for lost.
LOST_FAN_OUT_AFTER = timedelta(minutes=2)


@shared_task
def send_confirmation(subscriber_id: int, request_key: str) -> None:
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None or subscriber.confirmed_at or subscriber.unsubscribed_at:
        return
    notify.send_confirmation(subscriber, request_key=request_key)


def _wants(subscriber: Subscriber, component_ids: set[int], chosen: dict[int, set[int]]) -> bool:
    wanted = chosen.get(subscriber.pk)
    # No choice made, or an update that names no component: it concerns everyone.
    return not wanted or not component_ids or bool(wanted & component_ids)


@shared_task
def fan_out_update(kind: str, update_id: int) -> int:
    """Write one outbox message per confirmed subscriber for a published update.

    Each message has a dedup key per update and subscriber, so a task that is
    retried or runs twice reaches nobody twice. Returns how many were written.
    """
    model = PublicUpdate if kind == "incident" else MaintenanceUpdate
    update = model.objects.filter(pk=update_id).first()
    if update is None or not update.deliver_notifications:
        return 0
    owner = update.public_incident if kind == "incident" else update.maintenance
    component_ids = set(owner.components.values_list("pk", flat=True))
    codes = [c.get("code") for c in update.affected_components or []]
    component_ids |= set(services.Component.objects.filter(public_id__in=codes).values_list("pk", flat=True))
    subscribers = list(
        Subscriber.objects.filter(confirmed_at__isnull=False, unsubscribed_at__isnull=True).order_by("pk")
    )
    chosen: dict[int, set[int]] = {}
    for subscriber_id, component_id in Subscriber.components.through.objects.filter(
        subscriber_id__in=[s.pk for s in subscribers]
    ).values_list("subscriber_id", "component_id"):
        chosen.setdefault(subscriber_id, set()).add(component_id)
    state = load_state(with_uptime=False)
    # The owner as loaded with its updates and components, for the webhook body.
    loaded = (
        state.recent + state.unresolved
        if kind == "incident"
        else state.recent_maintenances + state.upcoming + state.active
    )
    owner = next((o for o in loaded if o.public_id == owner.public_id), owner)
    written = 0
    for subscriber in subscribers:
        if not _wants(subscriber, component_ids, chosen):
            continue
        try:
            notify.send_update(update=update, subscriber=subscriber, state=state, owner=owner)
        except CommsError as error:
            # One bad address must not keep the others from hearing about the incident.
            logger.warning("status page: no message for subscriber %s: %s", subscriber.public_id, error)
            continue
        written += 1
    model.objects.filter(pk=update.pk, notified_at__isnull=True).update(notified_at=timezone.now())
    return written


def _resend_lost_fan_outs() -> int:
    """Updates whose fan-out task was lost (broker down at publish time): enqueue them again."""
    now = timezone.now()
    lost = 0
    for kind, model in (("incident", PublicUpdate), ("maintenance", MaintenanceUpdate)):
        for update_id in model.objects.filter(
            deliver_notifications=True,
            notified_at__isnull=True,
            created_at__lte=now - LOST_FAN_OUT_AFTER,
            created_at__gte=now - timedelta(days=1),
        ).values_list("pk", flat=True):
            services.enqueue_fan_out(kind, update_id)
            lost += 1
    return lost


@shared_task
def statuspage_tick() -> int:
    """Every minute (beat): start and complete maintenance on time, keep the public page fresh."""
    moved = services.maintenance_tick()
    _resend_lost_fan_outs()
    age = public_cache.seconds_since_refresh()
    # A moved maintenance refreshed the page on commit already.
    if age is None or age >= REFRESH_EVERY_SECONDS:
        public_cache.refresh()
    return len(moved)
