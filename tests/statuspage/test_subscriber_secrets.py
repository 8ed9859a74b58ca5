"""Subscribers' confirm and unsubscribe links: their own copy carries them, the outbox never shows them.

Whoever holds a subscriber's token confirms or ends that subscription; admins
read subscriber messages in the outbox and the admin.
"""

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from comms import transports
from comms.models import SECRET_PLACEHOLDER, Message
from statuspage.models import Subscriber


@pytest.fixture
def admin_client_(client, admin_user):
    client.force_login(admin_user)
    return client


def _shown(client, message: Message) -> str:
    pages = [
        reverse("outbox"),
        reverse("outbox_message", args=[message.pk]),
        reverse("admin:comms_message_change", args=[message.pk]),
        reverse("admin:comms_delivery_changelist"),
    ]
    responses = [client.get(page) for page in pages]
    assert all(r.status_code == 200 for r in responses)
    return "\n".join(r.content.decode() for r in responses)


def test_the_confirmation_link_reaches_the_subscriber_and_no_outbox_reader(
    client, admin_user, page, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/status/subscribe/", {"kind": "email", "email": "ann@example.com"}, REMOTE_ADDR="203.0.113.7"
        )
    subscriber = Subscriber.objects.get()
    sent = mail.outbox[0]
    assert f"/status/subscribe/confirm/{subscriber.token}/" in sent.body
    assert f"/status/unsubscribe/{subscriber.token}/" in sent.extra_headers["List-Unsubscribe"]

    message = Message.objects.get(kind="subscriber_confirmation")
    client.force_login(admin_user)
    shown = _shown(client, message)
    assert subscriber.token not in shown
    assert f"Confirm the subscription: {SECRET_PLACEHOLDER}" in shown
    assert "ann@example.com" in shown
    for url in (
        reverse("admin:statuspage_subscriber_changelist"),
        reverse("admin:statuspage_subscriber_change", args=[subscriber.pk]),
    ):
        assert subscriber.token not in client.get(url).content.decode()

    # The link works for the subscriber.
    client.logout()
    assert client.get(reverse("statuspage:confirm", args=[subscriber.token])).status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.is_active


def test_unsubscribe_links_in_updates_are_masked_in_the_outbox_and_delivered(
    admin_client_, components, liaison, incident, publish, monkeypatch
):
    posted = []
    monkeypatch.setattr(
        transports, "send_other", lambda delivery: posted.append(transports.webhook_payload(delivery))
    )
    now = timezone.now()
    ann = Subscriber.objects.create(kind="email", email="ann@example.com", confirmed_at=now)
    hook = Subscriber.objects.create(
        kind="webhook",
        email="ops@example.com",
        webhook_url="https://hooks.example.com/status",
        confirmed_at=now,
    )

    publish(incident=incident, by=liaison, title="Checkout errors")

    sent = next(m for m in mail.outbox if m.to == ["ann@example.com"])
    assert f"/status/unsubscribe/{ann.token}/" in sent.body
    assert f"/status/unsubscribe/{ann.token}/" in sent.extra_headers["List-Unsubscribe"]
    assert posted[0]["meta"]["unsubscribe"].endswith(f"/status/unsubscribe/{hook.token}/")

    for subscriber in (ann, hook):
        message = Message.objects.get(
            kind="public_update", deliveries__address__in=[subscriber.email, subscriber.webhook_url]
        )
        shown = _shown(admin_client_, message)
        assert subscriber.token not in shown
        assert "We are looking into failed payments." in shown
        assert (
            message.shown_context.get("meta", {}).get("unsubscribe", SECRET_PLACEHOLDER) == SECRET_PLACEHOLDER
        )
