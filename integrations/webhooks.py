"""Outgoing webhooks: incident events to subscribed URLs, through the comms outbox.

Every state change of an incident writes exactly one timeline entry in the same
transaction, so the entry is the event: incidents.services calls
webhooks_for_entry() for each entry it writes (registered in
integrations/apps.py through incidents/hooks.py), which writes one outbox
message per subscriber in that same transaction. A rollback sends nothing; a
commit sends each event once (the dedup key is the subscriber, the entry and
the event).
"""

import logging
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction

from comms.models import Channel
from comms.services import CommsError, Recipient, message_send_or_record_refusal
from incidents.models import Change, Decision, Hypothesis, Incident, TimelineEntry, Verification
from incidents.services import IncidentError
from incidents.services.tools import MASKED
from integrations.models import OutgoingWebhook, WebhookEvent

Kind = TimelineEntry.Kind
logger = logging.getLogger(__name__)

# Whether any subscription exists, cached, so that the timeline writes of an
# installation without webhooks cost no query. Cleared whenever one changes.
SUBSCRIPTIONS_CACHE_KEY = "outgoing-webhooks:any"


def _any_subscription() -> bool:
    try:
        cached = cache.get(SUBSCRIPTIONS_CACHE_KEY)
    except Exception:  # noqa: BLE001 - the cache is an optimisation
        cached = None
    if cached is None:
        cached = OutgoingWebhook.objects.filter(is_active=True).exists()
        try:
            cache.set(SUBSCRIPTIONS_CACHE_KEY, cached, timeout=300)
        except Exception:  # noqa: BLE001
            pass
    return cached


def subscriptions_changed() -> None:
    """Forget the cached "any subscription?"; called by every write of a subscription (services, admin)."""
    try:
        cache.delete(SUBSCRIPTIONS_CACHE_KEY)
    except Exception:  # noqa: BLE001
        pass


def events_for_entry(entry: TimelineEntry) -> list[str]:
    data = entry.data if isinstance(entry.data, dict) else {}
    if entry.kind == Kind.STATUS:
        if "from" not in data and data.get("to") == Incident.Status.TRIAGE:
            return [WebhookEvent.DECLARED]
        if "to" in data:
            events = [WebhookEvent.STATUS_CHANGED]
            if data["to"] == Incident.Status.RESOLVED:
                events.append(WebhookEvent.RESOLVED)
            return events
    elif entry.kind == Kind.SEVERITY and "to" in data:
        return [WebhookEvent.SEVERITY_CHANGED]
    elif entry.kind == Kind.ROLE and "role" in data and not data.get("released"):
        return [WebhookEvent.ROLE_ASSIGNED]
    elif entry.kind == Kind.PUBLIC_UPDATE and "public_update" in data:
        return [WebhookEvent.PUBLIC_UPDATE_POSTED]
    elif entry.kind == Kind.HYPOTHESIS and "hypothesis" in data:
        return [WebhookEvent.HYPOTHESIS]
    elif entry.kind == Kind.DECISION and "decision" in data:
        return [WebhookEvent.DECISION]
    elif entry.kind == Kind.CHANGE and "change" in data:
        return [WebhookEvent.CHANGE]
    elif entry.kind == Kind.VERIFICATION and "verification" in data:
        return [WebhookEvent.VERIFICATION]
    elif "contacts" in data:
        return [WebhookEvent.CONTACTS]
    elif entry.kind == Kind.CUSTOMER and "customer_event" in data:
        return [WebhookEvent.CUSTOMERS]
    return []


def record_document(entry: TimelineEntry) -> dict | None:
    """The response-tool record an entry stands for; a sensitive change's values are never sent."""
    data = entry.data if isinstance(entry.data, dict) else {}
    if "hypothesis" in data and (h := Hypothesis.objects.filter(pk=data["hypothesis"]).first()):
        return {
            "type": "hypothesis",
            "id": h.pk,
            "statement": h.statement,
            "state": h.state,
            "evidence": h.evidence,
            "evidence_url": h.evidence_url,
        }
    if "decision" in data and (d := Decision.objects.filter(pk=data["decision"]).first()):
        return {
            "type": "decision",
            "id": d.pk,
            "kind": d.kind,
            "summary": d.summary,
            "reason": d.reason,
            "rollback_to": d.rollback_to,
            "state": d.state,
            "hypothesis": d.hypothesis_id,
        }
    if "change" in data and (c := Change.objects.filter(pk=data["change"]).first()):
        hidden = c.is_sensitive
        return {
            "type": "change",
            "id": c.pk,
            "what": c.what,
            "where": c.where,
            "old_value": MASKED if hidden else c.old_value,
            "new_value": MASKED if hidden else c.new_value,
            "values_hidden": hidden,
            "how_to_restore": c.how_to_restore,
            "state": c.state,
            "restores": c.restores_id,
            "occurred_at": c.occurred_at.isoformat(),
        }
    if "verification" in data and (v := Verification.objects.filter(pk=data["verification"]).first()):
        return {"type": "verification", "id": v.pk, "checked": v.checked, "result": v.result}
    return None


def incident_document(incident: Incident) -> dict:
    return {
        "id": incident.pk,
        "number": incident.number,
        "reference": incident.reference,
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status,
        "is_security": incident.is_security,
        "url": settings.SITE_URL + incident.get_absolute_url(),
        "rollback_question_open": incident.rollback_question_open,
        "join": incident.join_document(),
    }


def webhooks_for_entry(*, entry: TimelineEntry) -> int:
    """Write the outbox messages for the events this entry stands for; returns how many."""
    events = events_for_entry(entry)
    if not events or not _any_subscription():
        return 0
    incident = entry.incident
    active = OutgoingWebhook.objects.filter(is_active=True, channel__is_active=True).select_related("channel")
    subscriptions = [
        s for s in active if (s.include_restricted or not incident.is_security) and isinstance(s.events, list)
    ]
    if not subscriptions:
        return 0

    author = entry.author
    record = record_document(entry)
    sent = 0
    for event in events:
        label = WebhookEvent(event).label
        context = {
            "event": event,
            "incident": incident_document(incident),
            "entry": {
                "id": entry.pk,
                "kind": entry.kind,
                "body": entry.body,
                "data": entry.data,
                "occurred_at": entry.occurred_at.isoformat(),
                "author": author.get_username() if author is not None else None,
            },
        }
        if record is not None:
            context["record"] = record
        for subscription in subscriptions:
            if event not in subscription.events:
                continue
            if event == WebhookEvent.CUSTOMERS and not subscription.include_customer_data:
                continue  # customer data goes only where a subscription is marked for it
            try:
                # A refusal is recorded in the outbox (a dead message with the reason).
                message_send_or_record_refusal(
                    kind="webhook_event",
                    subject=f"{incident.reference} {label.lower()}: {incident.title}"[:300],
                    body=entry.body,
                    recipients=[Recipient(channel=subscription.channel)],
                    incident=incident,
                    dedup_key=f"hook:{subscription.pk}:{entry.pk}:{event}",
                    context=context,
                )
            except CommsError:
                # A subscriber's channel that cannot take messages must never
                # stop the incident's change: the outbox shows it; go on.
                logger.warning("Webhook %s skipped for entry %s", subscription.pk, entry.pk, exc_info=True)
                continue
            sent += 1
    return sent


def webhooks_for_review_event(
    *, event: str, incident: Incident, key: str, subject: str, body: str, document: dict
) -> int:
    """review.published, follow_up.created, follow_up.updated (reviews/hooks.py), like the entry events.

    Called by the reviews services in their transaction; `key` is unique per
    occurrence (a follow-up's revision), so each subscriber gets each event once.
    """
    if event not in WebhookEvent.values or not _any_subscription():
        return 0
    active = OutgoingWebhook.objects.filter(is_active=True, channel__is_active=True).select_related("channel")
    subscriptions = [
        s
        for s in active
        if (s.include_restricted or not incident.is_security)
        and isinstance(s.events, list)
        and event in s.events
    ]
    context = {"event": event, "incident": incident_document(incident), **document}
    sent = 0
    for subscription in subscriptions:
        try:
            message_send_or_record_refusal(
                kind="webhook_event",
                subject=subject[:300],
                body=body or subject,
                recipients=[Recipient(channel=subscription.channel)],
                incident=incident,
                dedup_key=f"hook:{subscription.pk}:{key}:{event}"[:200],
                context=context,
            )
        except CommsError:
            logger.warning("Webhook %s skipped for %s", subscription.pk, key, exc_info=True)
            continue
        sent += 1
    return sent


# --- Subscriptions ---------------------------------------------------------------------------------


@transaction.atomic
def webhook_subscribe(
    *,
    name: str,
    url: str,
    events: list[str] | None = None,
    secret: str = "",
    include_restricted: bool = False,
    include_customer_data: bool = False,
    by: AbstractBaseUser | None,
) -> tuple[OutgoingWebhook, str]:
    """Subscribe a URL to incident events: a signed webhook channel and its subscription.

    Returns the subscription and the signing secret (generated when not given;
    the receiver needs it to verify X-Coolhead-Signature).
    """

    name = " ".join((name or "").split())
    if not name or len(name) > 100:
        raise IncidentError("A webhook needs a name of at most 100 characters.")
    events = list(WebhookEvent.values) if events is None else list(events)
    unknown = [e for e in events if e not in WebhookEvent.values]
    if unknown or not events:
        raise IncidentError(
            f"Unknown events {unknown}: choose from {', '.join(WebhookEvent.values)}."
            if unknown
            else "Subscribe to at least one event."
        )
    secret = secret or secrets.token_urlsafe(32)
    if len(secret) > 200:
        raise IncidentError("A secret is at most 200 characters.")
    channel = Channel(
        name=f"Webhook: {name}"[:100],
        slug=f"webhook-{secrets.token_hex(6)}",
        kind=Channel.Kind.WEBHOOK,
        url=(url or "").strip(),
        secret=secret,
    )
    try:
        channel.full_clean()
    except ValidationError as error:
        messages = [m for ms in error.message_dict.values() for m in ms]
        raise IncidentError(" ".join(messages)) from None
    channel.save()
    subscription = OutgoingWebhook.objects.create(
        name=name,
        channel=channel,
        events=sorted(set(events)),
        include_restricted=include_restricted,
        include_customer_data=include_customer_data,
        created_by=by if by is not None and by.is_authenticated else None,
    )
    transaction.on_commit(subscriptions_changed)
    return subscription, secret


@transaction.atomic
def webhook_unsubscribe(*, subscription: OutgoingWebhook) -> OutgoingWebhook:
    subscription = OutgoingWebhook.objects.select_for_update().get(pk=subscription.pk)
    if not subscription.is_active:
        raise IncidentError("The webhook is unsubscribed already.")
    subscription.is_active = False
    subscription.save(update_fields=["is_active"])
    transaction.on_commit(subscriptions_changed)
    return subscription
