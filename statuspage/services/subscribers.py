"""Subscribers: asking, confirming and leaving; and each published update to those who want it."""

import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from comms import addresses
from comms.services import CommsError
from core.tasks import enqueue
from incidents.models import TimelineEntry
from incidents.services import timeline_record
from statuspage import notify
from statuspage.documents import load_state
from statuspage.models import (
    Component,
    MaintenanceUpdate,
    PublicUpdate,
    Subscriber,
)
from statuspage.services.common import CONFIRMATION_TASK, StatuspageError, enqueue_fan_out

logger = logging.getLogger(__name__)


# --- Subscribers ---------------------------------------------------------------------------------

_webhook_url = URLValidator(schemes=["http", "https"])


@transaction.atomic
def subscriber_subscribe(
    *, kind: str, email: str, webhook_url: str = "", component_ids: Iterable[str] = ()
) -> Subscriber:
    """Ask for a subscription; it starts only when the confirmation link is followed.

    Answers the same whether or not the address was subscribed already, so the
    form tells nobody who subscribes to what.
    """
    if kind not in Subscriber.Kind.values:
        raise StatuspageError("Subscribe by e-mail or by webhook.")
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise StatuspageError(f"{email or 'That'!r} is not a valid e-mail address.") from None
    webhook_url = (webhook_url or "").strip()
    if kind == Subscriber.Kind.WEBHOOK:
        try:
            _webhook_url(webhook_url)
        except ValidationError:
            raise StatuspageError("The webhook URL must be a full http:// or https:// address.") from None
        # Anyone may subscribe: the portal must not be aimed at its own network.
        # This catches internal names and addresses at once; where a name
        # resolves to is checked by comms (comms/addresses.py) each time it sends.
        refusal = addresses.url_refusal(webhook_url)
        if refusal is not None:
            raise StatuspageError(refusal)
    else:
        webhook_url = ""
    component_ids = list(dict.fromkeys(component_ids))
    components = list(Component.objects.filter(public_id__in=component_ids, is_group=False))
    if len(components) != len(component_ids):
        raise StatuspageError("One of the chosen components does not exist.")

    live = Subscriber.objects.select_for_update().filter(kind=kind, unsubscribed_at__isnull=True)
    existing = (
        live.filter(webhook_url=webhook_url).first()
        if kind == Subscriber.Kind.WEBHOOK
        else live.filter(email__iexact=email).first()
    )
    if existing is not None:
        if existing.confirmed_at is None:
            # Not confirmed yet: the latest request decides, and the link is sent again.
            existing.email = email
            existing.save(update_fields=["email"])
            existing.components.set(components)
            confirmation_on_commit(existing)
        return existing
    try:
        with transaction.atomic():
            subscriber = Subscriber.objects.create(kind=kind, email=email, webhook_url=webhook_url)
    except IntegrityError:
        raise StatuspageError("That subscription was just requested; check the inbox.") from None
    subscriber.components.set(components)
    confirmation_on_commit(subscriber)
    return subscriber


def confirmation_on_commit(subscriber: Subscriber) -> None:
    subscriber_id, request_key = subscriber.pk, uuid.uuid4().hex

    def send_later() -> None:
        try:
            enqueue(CONFIRMATION_TASK, subscriber_id, request_key)
        except Exception:  # noqa: BLE001 - the person can ask again; the page keeps working
            logger.warning(
                "status page: confirmation for subscriber %s not enqueued", subscriber_id, exc_info=True
            )

    transaction.on_commit(send_later)


@transaction.atomic
def subscriber_confirm(*, token: str) -> Subscriber:
    subscriber = Subscriber.objects.select_for_update().filter(token=token).first()
    if subscriber is None or subscriber.unsubscribed_at is not None:
        raise StatuspageError("This confirmation link is not valid (any more). Subscribe again.")
    if subscriber.confirmed_at is None:
        subscriber.confirmed_at = timezone.now()
        subscriber.save(update_fields=["confirmed_at"])
    return subscriber


@transaction.atomic
def subscriber_unsubscribe(*, token: str) -> Subscriber:
    subscriber = Subscriber.objects.select_for_update().filter(token=token).first()
    if subscriber is None:
        raise StatuspageError("This unsubscribe link is not valid.")
    if subscriber.unsubscribed_at is None:
        subscriber.unsubscribed_at = timezone.now()
        subscriber.save(update_fields=["unsubscribed_at"])
    return subscriber


# --- Telling subscribers about a published update ---------------------------------------------------


def _wants(subscriber: Subscriber, component_ids: set[int], chosen: dict[int, set[int]]) -> bool:
    wanted = chosen.get(subscriber.pk)
    # No choice made, or an update that names no component: it concerns everyone.
    return not wanted or not component_ids or bool(wanted & component_ids)


def update_fan_out(*, kind: str, update_id: int) -> int:
    """Write one outbox message per confirmed subscriber who wants this published update.

    `kind` is "incident" (a PublicUpdate) or "maintenance" (a MaintenanceUpdate).
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
    component_ids |= set(Component.objects.filter(public_id__in=codes).values_list("pk", flat=True))
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
    refused: dict[str, int] = {}
    for subscriber in subscribers:
        if not _wants(subscriber, component_ids, chosen):
            continue
        try:
            notify.send_update(update=update, subscriber=subscriber, state=state, owner=owner)
        except CommsError as error:
            # One bad address must not keep the others from hearing about the incident.
            # It is not dropped quietly either: the outbox holds a dead message that
            # says why (notify.send_update), and the room is told below.
            refused[str(error)] = refused.get(str(error), 0) + 1
            continue
        written += 1
    # Only the run that marks the update notified tells the room (a retried task does not).
    first = model.objects.filter(pk=update.pk, notified_at__isnull=True).update(notified_at=timezone.now())
    if refused and first and kind == "incident":
        _refusals_tell_the_room(update=update, sent=written, refused=refused)
    return written


@transaction.atomic
def _refusals_tell_the_room(*, update: PublicUpdate, sent: int, refused: dict[str, int]) -> None:
    count = sum(refused.values())
    reasons = "\n".join(f"- {n} × {reason}" for reason, n in sorted(refused.items(), key=lambda r: -r[1]))
    timeline_record(
        incident=update.public_incident.incident,
        kind=TimelineEntry.Kind.PUBLIC_UPDATE,
        body=(
            f"The public update could not be sent to {count} of {count + sent} subscribers:\n\n"
            f"{reasons}\n\nEach is a dead message in the outbox, with the reason."
        ),
        author=None,
        data={"public_update": update.public_id, "not_sent": count, "sent": sent},
    )


def fan_outs_resend_lost() -> int:
    """Updates whose fan-out task was lost (broker down at publish time): enqueue them again."""
    now = timezone.now()
    lost = 0
    for kind, model in (("incident", PublicUpdate), ("maintenance", MaintenanceUpdate)):
        for update_id in model.objects.filter(
            deliver_notifications=True,
            notified_at__isnull=True,
            created_at__lte=now - timedelta(seconds=settings.STATUSPAGE_LOST_FAN_OUT_AFTER_SECONDS),
            created_at__gte=now - timedelta(days=1),
        ).values_list("pk", flat=True):
            enqueue_fan_out(kind, update_id)
            lost += 1
    return lost


def confirmation_send(*, subscriber_id: int, request_key: str) -> bool:
    """Send the double opt-in mail of a subscription still waiting for it; False when there is none."""
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None or subscriber.confirmed_at or subscriber.unsubscribed_at:
        return False
    notify.send_confirmation(subscriber, request_key=request_key)
    return True
