"""Channels in the admin: a bad webhook is a validation error now, not a failed delivery later."""

import pytest
from django.urls import reverse

from comms.models import Channel


def _add(client, **data):
    form = {
        "name": "Ops",
        "slug": "ops",
        "kind": "webhook",
        "url": "",
        "secret": "",
        "timeout_seconds": 10,
        "is_active": "on",
    } | data
    return client.post(reverse("admin:comms_channel_add"), form)


@pytest.fixture
def admin_client_(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"url": "ftp://example.com/hook", "secret": "x"}, "Enter an http:// or https:// URL"),
        ({"url": "javascript:alert(1)", "secret": "x"}, "Enter a valid URL"),
        ({"url": "", "secret": "x"}, "needs the receiver"),
        ({"url": "https://hooks.example.com/in"}, "needs a secret"),
        ({"kind": "slack", "url": "", "secret": ""}, "needs the receiver"),
        ({"kind": "email", "url": "https://example.com/"}, "Only webhook channels have a URL"),
        ({"url": "https://hooks.example.com/in", "secret": "x", "timeout_seconds": 600}, "between 1 and 60"),
    ],
)
def test_a_bad_channel_is_refused_with_a_message(admin_client_, data, error):
    response = _add(admin_client_, **data)
    assert response.status_code == 200  # the form again, with the error
    assert error in response.text
    assert not Channel.objects.filter(slug="ops").exists()


def test_a_good_signed_webhook_is_saved(admin_client_):
    response = _add(admin_client_, url="https://hooks.example.com/in", secret="s3cret")
    assert response.status_code == 302
    channel = Channel.objects.get(slug="ops")
    assert channel.kind == Channel.Kind.WEBHOOK
    assert channel.timeout_seconds == 10


def test_a_slack_webhook_needs_no_secret(admin_client_):
    response = _add(admin_client_, kind="slack", url="https://hooks.slack.example/T0/B0/x")
    assert response.status_code == 302


def test_the_admin_lists_messages_and_deliveries(admin_client_, responder):
    from comms.services import message_send, recipients_for_user

    message_send(kind="other", subject="Hello admin", body="x", recipients=recipients_for_user(responder))
    assert "Hello admin" in admin_client_.get(reverse("admin:comms_message_changelist")).text
    assert admin_client_.get(reverse("admin:comms_delivery_changelist")).status_code == 200
