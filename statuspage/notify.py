"""Subscriber messages, written to the comms outbox (comms delivers them; nothing is sent from here).

The internal incident is deliberately NOT attached to these messages: comms puts
an attached incident's internal title, number and severity into webhook bodies,
and subscribers are the public.
"""

import secrets

from django.conf import settings
from django.urls import reverse

from comms.models import Channel
from comms.selectors import email_channel
from comms.services import Recipient, message_send, message_send_or_record_refusal
from statuspage import api_v2, selectors
from statuspage.models import (
    ComponentStatus,
    IncidentStatus,
    MaintenanceStatus,
    MaintenanceUpdate,
    PageSettings,
    PublicUpdate,
    Subscriber,
)

WEBHOOK_CHANNEL_SLUG = "statuspage-subscribers"
STATUSPAGE_WEBHOOK_DOCS = "https://support.atlassian.com/statuspage/docs/enable-webhook-notifications/"


def _absolute(path: str) -> str:
    return settings.SITE_URL + path


def confirm_url(subscriber: Subscriber) -> str:
    return _absolute(reverse("statuspage:confirm", kwargs={"token": subscriber.token}))


def unsubscribe_url(subscriber: Subscriber) -> str:
    return _absolute(reverse("statuspage:unsubscribe", kwargs={"token": subscriber.token}))


def subscriber_webhook_channel() -> Channel:
    """The comms channel that carries subscriber webhooks; each delivery has its own URL."""
    channel, _ = Channel.objects.get_or_create(
        slug=WEBHOOK_CHANNEL_SLUG,
        defaults={
            "name": "Status page subscribers (webhooks)",
            "kind": Channel.Kind.WEBHOOK,
            "url": f"{settings.SITE_URL}/status",
            "secret": secrets.token_hex(32),
        },
    )
    return channel


def send_confirmation(subscriber: Subscriber, *, request_key: str) -> None:
    page = selectors.page_settings()
    what = (
        f"webhook notifications to {subscriber.webhook_url}"
        if subscriber.kind == Subscriber.Kind.WEBHOOK
        else "e-mail notifications"
    )
    components = list(subscriber.components.order_by("position", "name"))
    scope = "about: " + ", ".join(c.name for c in components) if components else "about every component"
    body = (
        f"Someone (we hope you) asked for {what} when {page.name} posts an incident or a "
        f"maintenance, {scope}.\n\n"
        f"Confirm the subscription: {confirm_url(subscriber)}\n\n"
        "If it was not you, ignore this message: nothing is sent until the link is followed."
    )
    message_send(
        kind="subscriber_confirmation",
        subject=f"Confirm your subscription to {page.name} status updates",
        body=body,
        recipients=[Recipient(channel=email_channel(), address=subscriber.email)],
        # One per request: a retried task does not send it twice, a new request sends it again.
        dedup_key=f"statuspage:confirm:{subscriber.public_id}:{request_key}",
        headers=_list_headers(subscriber),
        secret_values=_secret_links(subscriber),
    )


def _secret_links(subscriber: Subscriber) -> list[str]:
    # Whoever holds these links confirms or ends the subscription: the outbox
    # and the admin show them masked, the subscriber's copy carries them.
    return [confirm_url(subscriber), unsubscribe_url(subscriber), subscriber.token]


def _list_headers(subscriber: Subscriber) -> dict[str, str]:
    # RFC 8058 one-click unsubscribe: mail clients POST to the URL.
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(subscriber)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _status_label(status: str) -> str:
    if status in IncidentStatus.values:
        return IncidentStatus(status).label
    return MaintenanceStatus(status).label


def _email_body(page: PageSettings, name: str, url: str, update, subscriber: Subscriber) -> str:
    zone = page.zone
    when = update.display_at.astimezone(zone).strftime("%b %-d, %H:%M %Z")
    lines = [f"**{_status_label(update.status)}** ({when}): {update.body}", ""]
    changes = [
        f"- {c['name']}: {ComponentStatus(c['new_status']).label}"
        for c in (update.affected_components or [])
        if c.get("new_status") in ComponentStatus.values
    ]
    if changes:
        lines += ["Affected components:", *changes, ""]
    lines += [
        f"Follow the incident: {url}",
        "",
        "---",
        f"You receive this because you subscribed to {page.name} status updates. "
        f"Unsubscribe with one click: {unsubscribe_url(subscriber)}",
    ]
    return "\n".join(lines)


def send_update(*, update: PublicUpdate | MaintenanceUpdate, subscriber: Subscriber, state, owner) -> None:
    """One message per update and subscriber; the dedup key makes a repeat a no-op."""
    page = state.page
    url = f"{page.public_url}/incidents/{owner.public_id}"
    subject = f"[{page.name}] {owner.name}: {_status_label(update.status)}"
    dedup_key = f"statuspage:update:{update.public_id}:subscriber:{subscriber.public_id}"
    if subscriber.kind == Subscriber.Kind.WEBHOOK:
        recipient = Recipient(channel=subscriber_webhook_channel(), address=subscriber.webhook_url)
        headers = {}
    else:
        recipient = Recipient(channel=email_channel(), address=subscriber.email)
        headers = _list_headers(subscriber)
    # A subscriber the outbox refuses is recorded there (dead, with the reason), then raised.
    message_send_or_record_refusal(
        kind="public_update",
        subject=subject[:300],
        body=_email_body(page, owner.name, url, update, subscriber),
        recipients=[recipient],
        dedup_key=dedup_key,
        headers=headers,
        context=webhook_context(update=update, owner=owner, subscriber=subscriber, state=state),
        secret_values=_secret_links(subscriber),
    )


def webhook_context(*, update, owner, subscriber: Subscriber, state) -> dict:
    """Statuspage's webhook body: meta, page (with the roll-up), and the incident as in the API."""
    page = state.page
    if isinstance(update, PublicUpdate):
        incident = api_v2.incident_object(owner, page, state.tree)
    else:
        incident = api_v2.maintenance_object(owner, page, state.tree)
    return {
        "meta": {"unsubscribe": unsubscribe_url(subscriber), "documentation": STATUSPAGE_WEBHOOK_DOCS},
        "page": {
            "id": page.public_id,
            "status_indicator": state.indicator.indicator,
            "status_description": state.indicator.description,
        },
        "incident": incident,
    }
