"""Webhooks and Slack stalks the outbox refuses leave a dead message that says why, not a log line."""

import pytest

from comms.models import Channel, Delivery, Message
from incidents.services import incident_change_status
from integrations.models import SlackStalk
from integrations.slack import slack_stalks_post
from integrations.webhooks import webhook_subscribe
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def test_a_webhook_the_outbox_refuses_is_a_dead_message_on_the_incident_and_the_change_still_happens(
    settings, admin_user
):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    subscription, _ = webhook_subscribe(
        name="ops bot", url="http://127.0.0.1:8799/hook", secret="s3cret", by=None
    )
    incident = IncidentFactory(declared_by=admin_user)
    # A URL the outbox cannot use (written past the admin's checks).
    Channel.objects.filter(pk=subscription.channel.pk).update(url="ftp://127.0.0.1/hook")

    incident_change_status(incident=incident, status="investigating", by=admin_user)

    incident.refresh_from_db()
    assert incident.status == "investigating"
    refused = Message.objects.get(kind="webhook_event", context__has_key="refused")
    assert refused.incident == incident and "status" in refused.subject.lower()
    delivery = refused.deliveries.get()
    assert delivery.state == Delivery.State.DEAD and "not an http(s) URL" in delivery.last_error


def test_a_stalk_whose_channel_is_switched_off_stops_and_says_why():
    incident = IncidentFactory()
    channel = Channel.objects.create(
        name="#inc",
        slug="slack-cinc",
        kind=Channel.Kind.SLACK,
        url="https://hooks.example.com/x",
        is_active=False,
    )
    stalk = SlackStalk.objects.create(incident=incident, slack_channel_id="CINC", channel=channel)

    assert slack_stalks_post() == 0
    stalk.refresh_from_db()
    assert stalk.stopped_at is not None
    refused = Message.objects.get(incident=incident)
    assert refused.subject == f"{incident.reference} status"
    assert "switched off" in refused.deliveries.get().last_error
