"""The one way out of the portal: write a message to the outbox, deliver it on Celery.

Callers (paging, handover, reminders, the status page) use message_send() in
their own transaction. The worker side (deliveries_send, outbox_sweep) makes the
at-least-once Celery delivery exactly-once per Delivery row:

- a worker claims rows with a conditional UPDATE (pending/failed and due, or a
  `sending` row whose lease expired) and stamps them with its own claim token;
- it sends them one at a time and records each outcome at once, guarded by the
  token, so a second run of the same task finds nothing to claim;
- the sweeper re-enqueues what a lost broker message or a killed worker left
  behind.

The one copy that can go out twice is the one a worker was sending at the very
moment it died (sent, not yet recorded). It carries the same Message-ID /
X-Coolhead-Delivery on the second try, so receivers can drop it.
"""

import json
import logging
import uuid
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import validate_email
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from comms import apprise_urls, crypto, permissions, transports
from comms.models import LAST_ERROR_MAX_LENGTH, Channel, ContactMethod, Delivery, Message, validate_http_url
from comms.selectors import contact_methods_channel, email_channel, in_app_channel
from core import live
from core.errors import DomainError, NotAllowed
from core.tasks import enqueue
from core.text import one_line

# The task that sends deliveries (comms/tasks.py), which calls back into this module.
DELIVER_TASK = "comms.tasks.deliver"

User = get_user_model()
logger = logging.getLogger(__name__)


def email_batch_size() -> int:
    return settings.COMMS_EMAIL_BATCH_SIZE


def sending_lease() -> timedelta:
    return timedelta(seconds=settings.COMMS_SENDING_LEASE_SECONDS)


def max_attempts() -> int:
    return settings.COMMS_MAX_ATTEMPTS


# Subjects longer than this are cut (with an ellipsis) by message_send.
SUBJECT_MAX_LENGTH = 300


class CommsError(DomainError):
    """Bad input to a comms service; the message is meant for a person. Nothing was written."""


@dataclass(frozen=True)
class Recipient:
    channel: Channel  # how it travels
    address: str = ""  # e-mail address, or URL for a webhook; "" = the user's e-mail / the channel's URL
    user: AbstractBaseUser | None = None  # the person (needed for in-app; recorded for the others)
    contact_method: ContactMethod | None = None  # the person's own (channel kind apprise)


# --- Writing to the outbox -------------------------------------------------------------


def recipients_for_user(user: AbstractBaseUser) -> list[Recipient]:
    """How to reach a person: the bell, and e-mail when they have an address."""
    recipients = [Recipient(channel=in_app_channel(), user=user)]
    if user.email:
        recipients.append(Recipient(channel=email_channel(), address=user.email, user=user))
    return recipients


def _check_headers(headers: dict[str, str]) -> dict[str, str]:
    if not isinstance(headers, dict):
        raise CommsError("Headers must be a mapping of header name to text.")
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise CommsError("Header names and values must be text.")
        if not name or not all(33 <= ord(c) <= 126 and c != ":" for c in name):
            raise CommsError(f"{name!r} is not a valid e-mail header name.")
        if "\r" in value or "\n" in value:
            raise CommsError(f"The {name} header must be on one line.")
    return dict(headers)


def _check_secret_values(values: Sequence[str]) -> list[str]:
    if isinstance(values, (str, bytes)):
        raise CommsError("Secret values are a list of texts.")
    values = list(values)
    # Short values would mask ordinary words; the secrets meant here are links and long tokens.
    if len(values) > 20 or not all(isinstance(v, str) and 8 <= len(v) <= 2000 for v in values):
        raise CommsError("Secret values are at most 20 texts of 8 to 2,000 characters.")
    return values


def recipient_for_method(method: ContactMethod) -> Recipient:
    return Recipient(channel=contact_methods_channel(), user=method.user, contact_method=method)


def _resolve(recipient: Recipient) -> tuple[Channel, str, AbstractBaseUser | None]:
    """The channel, the address and the person of one recipient, or a CommsError."""
    if not isinstance(recipient, Recipient):
        raise CommsError(f"{recipient!r} is not a Recipient.")
    channel = recipient.channel
    if not isinstance(channel, Channel) or channel.pk is None:
        raise CommsError("Each recipient needs a saved channel.")
    if not channel.is_active:
        raise CommsError(f"The channel {channel.name!r} is switched off.")
    user = recipient.user
    if user is not None and (not isinstance(user, User) or user.pk is None):
        raise CommsError(f"{user!r} is not a person known to the portal.")
    address = (recipient.address or "").strip()
    if channel.kind == Channel.Kind.EMAIL:
        address = address or (user.email if user is not None else "")
        if not address:
            raise CommsError("An e-mail recipient needs an address.")
        try:
            validate_email(address)
        except ValidationError:
            raise CommsError(f"{address!r} is not a valid e-mail address.") from None
    elif channel.kind == Channel.Kind.IN_APP:
        if user is None:
            raise CommsError("An in-app notification needs the person it is for.")
        if not user.is_active:
            raise CommsError(f"{user} is no longer active.")
        address = ""
    elif channel.is_webhook:
        address = address or channel.url
        try:
            validate_http_url(address)
        except ValidationError:
            raise CommsError(f"{address!r} is not an http(s) URL for the {channel.name!r} webhook.") from None
        if len(address) > 500:
            raise CommsError("A webhook URL may be at most 500 characters.")
    elif channel.has_apprise_url and recipient.contact_method is None:
        # An account of the company's own (a social network): the channel holds the URL.
        address = f"{channel.apprise_service} · {channel.apprise_hint}"[:500]
    elif channel.kind == Channel.Kind.APPRISE:
        method = recipient.contact_method
        if not isinstance(method, ContactMethod) or method.pk is None:
            raise CommsError("A contact-method recipient needs the saved contact method.")
        if user is None or method.user_id != user.pk:
            raise CommsError("A contact method reaches only the person it belongs to.")
        if not user.is_active:
            raise CommsError(f"{user} is no longer active.")
        # Never the URL: the delivery row is shown in the outbox.
        address = f"{method.label} · {method.hint}"[:500]
    else:  # pragma: no cover - a kind added without a sender
        raise CommsError(f"The channel {channel.name!r} has an unknown kind.")
    return channel, address, user


def recipients_split(recipients: Sequence[Recipient]) -> tuple[list[Recipient], list[tuple[Recipient, str]]]:
    """The recipients message_send would take, and the others, each with the reason it would refuse them."""
    usable: list[Recipient] = []
    refused: list[tuple[Recipient, str]] = []
    for recipient in recipients:
        try:
            _resolve(recipient)
        except CommsError as error:
            refused.append((recipient, str(error)))
        else:
            usable.append(recipient)
    return usable, refused


@transaction.atomic
def message_send(
    *,
    kind: str,
    subject: str,
    body: str,
    recipients: Sequence[Recipient],
    incident: models.Model | None = None,
    dedup_key: str | None = None,
    headers: dict[str, str] | None = None,
    context: dict | None = None,
    sensitive: bool = False,
    secret_values: Sequence[str] = (),
) -> Message:
    """Write a message and one delivery per recipient; deliver them after commit.

    Runs in the caller's transaction: if the caller rolls back, nothing is sent.
    The same dedup_key twice gives back the first message and sends nothing new
    (reminders use it to stay idempotent per period). Bad input raises CommsError
    before anything is written. In-app notifications need no worker: they are
    recorded as sent at once.

    Secrets (see Message.shown_body): `sensitive` when the whole body is a secret
    for its recipient (a reset link): the outbox shows a note instead, and the
    body is erased once delivery ends. `secret_values`: the links (or tokens) in
    the body, headers or context that act for the recipient; every display masks
    them, the delivered message carries them.
    """
    if kind not in Message.Kind.values:
        raise CommsError(f"{kind!r} is not a kind of message.")
    # Every subject leaves on one line, whoever wrote it: an e-mail header, a Slack
    # title and a page end at any line break (U+2028 and a vertical tab included).
    subject = one_line(subject if isinstance(subject, str) else "", SUBJECT_MAX_LENGTH)
    if not subject:
        raise CommsError("A message needs a subject.")
    if not isinstance(body, str) or len(body) > 50000:
        raise CommsError("The body must be text of at most 50,000 characters.")
    if incident is not None and (not isinstance(incident, models.Model) or incident.pk is None):
        raise CommsError("The incident must be a saved incident.")
    if dedup_key is not None and not (0 < len(dedup_key) <= 200):
        raise CommsError("A dedup key must be 1 to 200 characters.")
    headers = _check_headers(headers or {})
    context = context or {}
    try:
        context = json.loads(json.dumps(context, cls=DjangoJSONEncoder))
    except (TypeError, ValueError):
        raise CommsError("The context must be JSON data.") from None
    if not isinstance(context, dict):
        raise CommsError("The context must be a mapping.")
    if isinstance(recipients, (str, bytes)) or not recipients:
        raise CommsError("A message needs at least one recipient.")
    secret_values = _check_secret_values(secret_values)

    resolved: list[tuple[Channel, str, AbstractBaseUser | None, ContactMethod | None]] = []
    seen: set[tuple[int, str, int | None, int | None]] = set()
    for recipient in recipients:
        channel, address, user = _resolve(recipient)
        method = recipient.contact_method if channel.kind == Channel.Kind.APPRISE else None
        key = (channel.pk, address.lower(), user.pk if user is not None else None, method and method.pk)
        if key not in seen:  # the same person twice on the same path gets it once
            seen.add(key)
            resolved.append((channel, address, user, method))
    if sensitive and any(channel.kind == Channel.Kind.IN_APP for channel, *_ in resolved):
        # The bell keeps what it shows for ever; a secret must leave and be erased.
        raise CommsError("A message that carries a secret goes by e-mail or webhook, not to the bell.")

    if dedup_key is not None:
        existing = Message.objects.filter(dedup_key=dedup_key).first()
        if existing is not None:
            return existing

    try:
        # A savepoint: a concurrent caller with the same key makes this insert
        # fail (or wait and then fail); the first message is then the answer.
        with transaction.atomic():
            message = Message.objects.create(
                kind=kind,
                subject=subject,
                body=body,
                incident=incident,
                dedup_key=dedup_key,
                headers=headers,
                context=context,
                sensitive=bool(sensitive),
                secret_values=secret_values,
            )
    except IntegrityError:
        if dedup_key is None:
            raise
        return Message.objects.get(dedup_key=dedup_key)

    now = timezone.now()
    deliveries = [
        Delivery(
            message=message,
            channel=channel,
            address=address,
            user=user,
            contact_method=method,
            idempotency_key=uuid.uuid4().hex,
            next_attempt_at=now,
            **(
                {"state": Delivery.State.SENT, "attempts": 1, "sent_at": now}
                if channel.kind == Channel.Kind.IN_APP
                else {}
            ),
        )
        for channel, address, user, method in resolved
    ]
    created = Delivery.objects.bulk_create(deliveries, batch_size=1000)
    to_send = [(d.pk, d.channel.kind) for d in created if d.state == Delivery.State.PENDING]
    if to_send:
        transaction.on_commit(lambda: enqueue_deliveries(to_send))
    # Their bells ring at once, on every page they have open (server-sent events, core/live.py).
    for user_id in {d.user_id for d in created if d.channel.kind == Channel.Kind.IN_APP and d.user_id}:
        live.publish_on_commit(f"bell:{user_id}")
    return message


# Why a delivery of a sensitive message cannot be (re-)sent once its secret is erased.
ERASED_SECRET_TEXT = (
    "This message carried a secret (a sign-in, reset or confirmation link) that was erased when its "
    "delivery ended: it cannot be sent again. The person asks for a new link instead."
)


def message_secret_erase(*, message_id: int | None = None) -> int:
    """Erase sensitive messages' body, headers and context once none of their deliveries is still going.

    The worker calls it for one message after each sent or dead delivery of a
    sensitive message; the sweeper for all of them (a worker killed between the
    two statements). One conditional UPDATE: while any delivery is pending,
    sending or waiting for a retry, the secret is kept for it. Returns how many
    messages it erased.
    """
    going = Delivery.objects.filter(
        message=OuterRef("pk"),
        state__in=[Delivery.State.PENDING, Delivery.State.SENDING, Delivery.State.FAILED],
    )
    kept = Message.objects.filter(sensitive=True, body_erased_at__isnull=True)
    if message_id is not None:
        kept = kept.filter(pk=message_id)
    return kept.filter(~Exists(going)).update(
        body="", headers={}, context={}, secret_values=[], body_erased_at=timezone.now()
    )


# The context key that marks a message the outbox refused (message_refused): never sent.
REFUSED_KEY = "refused"


@transaction.atomic
def message_refused(
    *,
    kind: str,
    subject: str,
    recipients: Sequence[Recipient],
    reason: str,
    incident: models.Model | None = None,
    dedup_key: str | None = None,
) -> Message:
    """Record a message that message_send refused, so that the refusal is seen, not only logged.

    The outbox shows it with its subject and one dead delivery per recipient
    whose last error says why; it is never sent, nor re-sent. The body is not
    kept (it may carry links that act for the recipient), only the reason. The
    same dedup key twice gives back the first record, as message_send does.
    """
    reason = _truncate(reason) or "refused"
    if dedup_key is not None:
        dedup_key = dedup_key[:200] or None
        existing = Message.objects.filter(dedup_key=dedup_key).first() if dedup_key else None
        if existing is not None:
            return existing
    if incident is not None and (not isinstance(incident, models.Model) or incident.pk is None):
        incident = None
    try:
        with transaction.atomic():
            message = Message.objects.create(
                kind=kind if kind in Message.Kind.values else Message.Kind.OTHER,
                subject=one_line(subject if isinstance(subject, str) else "", SUBJECT_MAX_LENGTH)
                or "(no subject)",
                body=f"Not sent: {reason}",
                incident=incident,
                dedup_key=dedup_key,
                context={REFUSED_KEY: reason},
            )
    except IntegrityError:
        return Message.objects.get(dedup_key=dedup_key)
    now = timezone.now()
    deliveries = []
    for recipient in recipients if isinstance(recipients, (list, tuple)) else []:
        channel = getattr(recipient, "channel", None)
        if not isinstance(recipient, Recipient) or not isinstance(channel, Channel) or channel.pk is None:
            continue
        user = recipient.user if isinstance(recipient.user, User) and recipient.user.pk else None
        address = recipient.address or ""
        if not address and channel.kind == Channel.Kind.EMAIL and user is not None:
            address = user.email
        elif not address and channel.is_webhook:
            address = channel.url
        method = recipient.contact_method if channel.kind == Channel.Kind.APPRISE else None
        if not isinstance(method, ContactMethod) or method.pk is None:
            method = None
        elif not address:
            address = f"{method.label} · {method.hint}"
        deliveries.append(
            Delivery(
                message=message,
                channel=channel,
                address=str(address)[:500],
                user=user,
                contact_method=method,
                state=Delivery.State.DEAD,
                last_error=_truncate(f"Not sent: {reason}"),
                idempotency_key=uuid.uuid4().hex,
                next_attempt_at=now,
            )
        )
    Delivery.objects.bulk_create(deliveries)
    logger.warning("Outbox refused a %s message %r: %s", kind, message.subject, reason)
    return message


def message_send_or_record_refusal(**message) -> Message:
    """message_send; when it refuses (CommsError), message_refused records why, then the error is raised.

    For callers that send on behalf of many (a fan-out to subscribers, outgoing
    webhooks): one recipient the outbox cannot take must not stop the others,
    and must not vanish into a log line either.
    """
    try:
        return message_send(**message)
    except CommsError as error:
        message_refused(
            kind=message.get("kind", ""),
            subject=message.get("subject", ""),
            recipients=list(message.get("recipients") or []),
            reason=str(error),
            incident=message.get("incident"),
            dedup_key=message.get("dedup_key"),
        )
        raise


# No waiting for the broker when enqueuing on commit: each retry against a frozen
# Redis would cost the request another socket timeout (core/tasks.py); the sweeper
# enqueues what did not go.
ENQUEUE_RETRY_POLICY = {"max_retries": 0}


def enqueue_deliveries(items: Sequence[tuple[int, str]]) -> None:
    """Hand deliveries to the workers: e-mail in batches (one SMTP session each), the rest one by one.

    A broker that is down is logged, not raised: the rows are safe in the
    outbox and the sweeper enqueues them again.
    """
    emails = [pk for pk, kind in items if kind == Channel.Kind.EMAIL]
    others = [pk for pk, kind in items if kind != Channel.Kind.EMAIL]
    size = email_batch_size()
    batches = [emails[i : i + size] for i in range(0, len(emails), size)] + [[pk] for pk in others]
    for number, batch in enumerate(batches):
        try:
            enqueue(DELIVER_TASK, batch, retry_policy=ENQUEUE_RETRY_POLICY)
        except Exception:  # noqa: BLE001 - the sweeper is the safety net
            # Stop at the first failure: a page must not wait on a dead broker
            # once per batch. Everything not enqueued is pending in the outbox.
            logger.warning(
                "Broker unreachable: %d of %d delivery batches left for the sweeper",
                len(batches) - number,
                len(batches),
                exc_info=True,
            )
            return


@transaction.atomic
def delivery_resend(*, delivery: Delivery, by: AbstractBaseUser | None = None) -> Delivery:
    """Give a dead delivery a fresh start (after someone fixed the address or the receiver).

    A sensitive message whose secret was erased cannot be sent again: the person
    asks for a new link instead (a new reset, a new confirmation).
    """
    if Message.objects.filter(pk=delivery.message_id, body_erased_at__isnull=False).exists():
        raise CommsError(ERASED_SECRET_TEXT)
    if Message.objects.filter(pk=delivery.message_id, context__has_key=REFUSED_KEY).exists():
        raise CommsError(
            "This message was refused when it was written and has nothing to send; the reason is on "
            "the delivery. Fix the cause and do again what wrote it."
        )
    updated = Delivery.objects.filter(pk=delivery.pk, state=Delivery.State.DEAD).update(
        state=Delivery.State.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        lease_expires_at=None,
        claim_token="",
        updated_at=timezone.now(),
    )
    if not updated:
        raise CommsError("Only a dead delivery can be re-sent.")
    delivery.refresh_from_db()
    logger.info("Delivery %s re-sent by %s", delivery.pk, by)
    items = [(delivery.pk, delivery.channel.kind)]
    transaction.on_commit(lambda: enqueue_deliveries(items))
    return delivery


def notifications_mark_read(*, user: AbstractBaseUser, delivery_ids: Sequence[int] | None = None) -> int:
    """Mark the person's own in-app notifications read (all of them when no ids are given)."""
    qs = Delivery.objects.filter(user=user, channel__kind=Channel.Kind.IN_APP, read_at__isnull=True)
    if delivery_ids is not None:
        qs = qs.filter(pk__in=list(delivery_ids))
    return qs.update(read_at=timezone.now())


# --- Accounts of the company's own (apprise URLs on a channel) --------------------------------------


@transaction.atomic
def channel_apprise_set(*, channel: Channel, url: str) -> Channel:
    """Give an apprise channel the URL of an account of the company's (Mastodon, Bluesky, X...).

    Checked as a contact method's is (COMMS_APPRISE_CHANNEL_SCHEMES, a URL apprise
    understands, a public server), kept encrypted and never shown again: `apprise_hint`
    is what displays show, `apprise_body_limit` the longest text the service takes.
    """
    if channel.kind != Channel.Kind.APPRISE:
        raise CommsError("Only an apprise channel posts to an account through an apprise URL.")
    try:
        target = apprise_urls.describe(url, schemes=settings.COMMS_APPRISE_CHANNEL_SCHEMES, what="account")
    except apprise_urls.AppriseUrlRefused as error:
        raise CommsError(str(error)) from None
    channel.apprise_url_encrypted = crypto.encrypt(url.strip())
    channel.apprise_hint = target.hint[:300]
    channel.apprise_service = target.service[:100]
    channel.apprise_body_limit = target.body_limit
    if channel.pk is None:
        channel.save()
    else:
        channel.save(
            update_fields=["apprise_url_encrypted", "apprise_hint", "apprise_service", "apprise_body_limit"]
        )
    logger.info("Channel %s posts to a %s account now", channel.pk, channel.apprise_service)
    return channel


# --- Contact methods (a person's own apprise URLs) -----------------------------------------------

# A person's contact methods: enough for phone, SMS and a chat or two.
MAX_CONTACT_METHODS = 10


class ContactMethodNotAllowed(CommsError, NotAllowed):
    """Someone else's contact method (a 403)."""


@transaction.atomic
def contact_method_add(*, user: AbstractBaseUser, label: str, url: str) -> ContactMethod:
    """Check an apprise URL and keep it, encrypted, as one of the person's contact methods.

    The URL is checked as far as that goes without sending (an accepted scheme,
    a URL apprise understands, a public server); "Send test" tries it. Nothing
    logged or stored in clear says more of it than `hint`.
    """
    label = one_line(label if isinstance(label, str) else "", 60)
    if not label:
        raise CommsError("Give the contact method a name, such as “Phone (ntfy)”.")
    try:
        target = apprise_urls.describe(url)
    except apprise_urls.AppriseUrlRefused as error:
        raise CommsError(str(error)) from None
    # Locks the person's row: two adds at once cannot both pass the checks below.
    User.objects.select_for_update().filter(pk=user.pk).first()
    methods = ContactMethod.objects.filter(user=user)
    if methods.filter(label=label).exists():
        raise CommsError(f"You have a contact method named “{label}” already: choose another name.")
    if methods.count() >= MAX_CONTACT_METHODS:
        raise CommsError(f"At most {MAX_CONTACT_METHODS} contact methods: remove one first.")
    method = ContactMethod.objects.create(
        user=user,
        label=label,
        service=target.service[:100],
        hint=target.hint[:300],
        url_encrypted=crypto.encrypt(url.strip()),
    )
    logger.info("Contact method %s (%s) added for user %s", method.pk, method.service, user.pk)
    return method


@transaction.atomic
def contact_method_remove(*, method: ContactMethod, by: AbstractBaseUser) -> None:
    """Remove it; deliveries already written keep their record and end dead when their turn comes."""
    if not permissions.may_manage_contact_method(by, method):
        raise ContactMethodNotAllowed("This contact method is not yours.")
    logger.info("Contact method %s removed by user %s", method.pk, by.pk)
    method.delete()


@transaction.atomic
def contact_method_test(*, method: ContactMethod, by: AbstractBaseUser) -> Delivery:
    """Write a test message to the method through the outbox; returns its one delivery.

    Like every message it is recorded, retried and shown in the outbox. The
    profile page then tries it at once (delivery_try_now) to show the answer.
    """
    if not permissions.may_manage_contact_method(by, method):
        raise ContactMethodNotAllowed("This contact method is not yours.")
    now = timezone.now()
    message = message_send(
        kind=Message.Kind.CONTACT_TEST,
        subject=f"Coolhead test: {method.label}",
        body=(
            f"This is a test of your contact method “{method.label}”. If you read this, Coolhead "
            "can page you here."
        ),
        recipients=[recipient_for_method(method)],
    )
    ContactMethod.objects.filter(pk=method.pk).update(last_test_at=now)
    return message.deliveries.get()


def delivery_try_now(*, delivery: Delivery) -> Delivery:
    """Send this delivery in the caller's process if no worker has claimed it yet; its state after.

    The same claim as a worker's: whichever comes first sends it, once. Not
    inside a transaction (the claim and the outcome commit at once).
    """
    deliveries_send(delivery_ids=[delivery.pk])
    delivery.refresh_from_db()
    return delivery


# --- Delivering (the worker side) ------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the n-th failed attempt: base * 2^(n-1), never above the cap.

    The cap stays well below the broker's visibility timeout, so a retry
    waiting for its countdown is never redelivered early.
    """
    base = settings.COMMS_RETRY_BASE_SECONDS
    cap = settings.COMMS_RETRY_MAX_SECONDS
    exponent = min(max(attempts, 1) - 1, 30)
    return timedelta(seconds=min(cap, base * 2**exponent))


def _truncate(text: str) -> str:
    text = " ".join(str(text).split())
    if len(text) > LAST_ERROR_MAX_LENGTH:
        text = text[: LAST_ERROR_MAX_LENGTH - 1] + "…"
    return text


def deliveries_claim(*, delivery_ids: Sequence[int]) -> tuple[str, list[Delivery]]:
    """Take the due deliveries among these for this worker, with one conditional UPDATE.

    Two workers (or one task delivered twice) racing for the same rows: the
    database lets one UPDATE match each row; the other finds it already taken.
    """
    token = uuid.uuid4().hex
    now = timezone.now()
    due = Q(state__in=Delivery.CLAIMABLE_STATES, next_attempt_at__lte=now) | Q(
        state=Delivery.State.SENDING, lease_expires_at__lt=now
    )
    Delivery.objects.filter(due, pk__in=list(delivery_ids)).update(
        state=Delivery.State.SENDING,
        claim_token=token,
        lease_expires_at=now + sending_lease(),
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    claimed = list(
        Delivery.objects.filter(claim_token=token, state=Delivery.State.SENDING)
        .select_related("message", "message__incident", "channel", "user", "contact_method")
        .order_by("id")
    )
    return token, claimed


# The hot path of a burst: one statement per sent delivery, written once here
# instead of compiled by the ORM ten thousand times. Same effect as
# filter(pk=, claim_token=, state=SENDING).update(state=SENT, ...).
_RECORD_SENT_SQL = (
    f"UPDATE {Delivery._meta.db_table} SET state = %s, sent_at = %s, last_error = '', "
    "lease_expires_at = NULL, updated_at = %s WHERE id = %s AND claim_token = %s AND state = %s"
)


def _record_sent(delivery: Delivery, token: str) -> bool:
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            _RECORD_SENT_SQL,
            [Delivery.State.SENT.value, now, now, delivery.pk, token, Delivery.State.SENDING.value],
        )
        done = cursor.rowcount
    if not done:
        logger.warning("Delivery %s was sent after its lease was taken over", delivery.pk)
    elif delivery.message.sensitive:
        message_secret_erase(message_id=delivery.message_id)
    return bool(done)


def _record_failure(delivery: Delivery, token: str, error: transports.SendError) -> None:
    now = timezone.now()
    give_up = error.permanent or delivery.attempts >= max_attempts()
    changes: dict = {"last_error": _truncate(str(error)), "lease_expires_at": None, "updated_at": now}
    if give_up:
        changes["state"] = Delivery.State.DEAD
    else:
        changes["state"] = Delivery.State.FAILED
        changes["next_attempt_at"] = now + retry_delay(delivery.attempts)
    done = Delivery.objects.filter(pk=delivery.pk, claim_token=token, state=Delivery.State.SENDING).update(
        **changes
    )
    if done and give_up and delivery.message.sensitive:
        message_secret_erase(message_id=delivery.message_id)
    if done and not give_up:
        try:
            enqueue(
                DELIVER_TASK,
                [delivery.pk],
                countdown=retry_delay(delivery.attempts).total_seconds(),
                retry_policy=ENQUEUE_RETRY_POLICY,
            )
        except Exception:  # noqa: BLE001 - the sweeper picks up due failed rows
            logger.warning("Could not schedule the retry of delivery %s", delivery.pk, exc_info=True)


def _renew_lease(token: str) -> None:
    now = timezone.now()
    Delivery.objects.filter(claim_token=token, state=Delivery.State.SENDING).update(
        lease_expires_at=now + sending_lease()
    )


@contextmanager
def _quick_commits():
    """Record outcomes without waiting for the disk flush of each commit (PostgreSQL).

    One small UPDATE per delivery keeps the window for a double send to one
    message; waiting for an fsync on each of them would cap a burst at the
    disk's flush rate. A commit returns once it is in PostgreSQL's memory, so a
    killed worker loses nothing; only a crash of the database server itself
    could forget the last fraction of a second of "sent" marks, and those
    deliveries would go out again (with the same Message-ID).
    """
    postgres = connection.vendor == "postgresql"
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")


def deliveries_send(*, delivery_ids: Sequence[int]) -> dict[str, int]:
    """Claim, send and record these deliveries; what the Celery task does. Returns counts by outcome."""
    with _quick_commits():
        return _deliveries_send(delivery_ids)


def _deliveries_send(delivery_ids: Sequence[int]) -> dict[str, int]:
    token, claimed = deliveries_claim(delivery_ids=delivery_ids)
    outcome = {"sent": 0, "failed": 0, "skipped": len(delivery_ids) - len(claimed)}
    for delivery in [d for d in claimed if d.message.body_erased_at is not None]:
        # A re-send that raced with the erasure: the secret is gone, and an empty
        # body must not go out in its place.
        _record_failure(delivery, token, transports.SendError(ERASED_SECRET_TEXT, permanent=True))
        outcome["failed"] += 1
    claimed = [d for d in claimed if d.message.body_erased_at is None]
    if not claimed:
        return outcome
    lease_started = timezone.now()
    half_lease = sending_lease() / 2

    def keep_lease() -> None:
        # A long batch renews its lease, so the sweeper does not hand live work out twice.
        nonlocal lease_started
        if timezone.now() - lease_started > half_lease:
            _renew_lease(token)
            lease_started = timezone.now()

    emails = [d for d in claimed if d.channel.kind == Channel.Kind.EMAIL]
    others = [d for d in claimed if d.channel.kind != Channel.Kind.EMAIL]

    if emails:
        unreachable: transports.SendError | None = None
        with transports.EmailSession() as session:
            for delivery in emails:
                keep_lease()
                if unreachable is not None:
                    # The mail server is down: the rest of the batch waits for the
                    # retry instead of each waiting for its own connect timeout.
                    _record_failure(delivery, token, unreachable)
                    outcome["failed"] += 1
                    continue
                try:
                    session.send(delivery)
                except transports.SendError as error:
                    _record_failure(delivery, token, error)
                    outcome["failed"] += 1
                    if error.connection_lost:
                        session.reset()
                        unreachable = transports.SendError(f"Not tried: {error}", permanent=False)
                    continue
                if _record_sent(delivery, token):
                    outcome["sent"] += 1
                else:
                    break  # our lease was taken over: the rest belongs to another worker now

    for delivery in others:
        keep_lease()
        try:
            transports.send_other(delivery)
        except transports.SendError as error:
            _record_failure(delivery, token, error)
            outcome["failed"] += 1
            continue
        if _record_sent(delivery, token):
            outcome["sent"] += 1
    return outcome


def outbox_sweep(*, limit: int = 5000) -> int:
    """Re-enqueue deliveries nobody is working on; returns how many.

    - pending for more than a grace period: the broker was down at commit, or
      the task was lost;
    - failed and overdue: the retry's countdown task was lost;
    - sending with an expired lease: the worker died mid-batch.
    Enqueuing a row that is in fact being handled is harmless: the claim decides.
    """
    now = timezone.now()
    grace = timedelta(seconds=settings.COMMS_STRANDED_AFTER_SECONDS)
    stranded = Q(state=Delivery.State.PENDING, next_attempt_at__lt=now - grace) | Q(
        state=Delivery.State.FAILED, next_attempt_at__lt=now - grace
    )
    expired = Q(state=Delivery.State.SENDING, lease_expires_at__lt=now)
    items = list(
        Delivery.objects.filter(stranded | expired)
        .order_by("next_attempt_at", "id")
        .values_list("pk", "channel__kind")[:limit]
    )
    if items:
        logger.info("Outbox sweep: re-enqueuing %d deliveries", len(items))
        enqueue_deliveries(items)
    message_secret_erase()
    return len(items)
