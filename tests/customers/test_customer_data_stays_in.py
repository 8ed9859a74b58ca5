"""Customer data (names, contacts, phone numbers, what was said to them) is on no public surface, in no
subscriber message or social post, and in no outgoing webhook unless that webhook is marked for it."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from comms.models import Message
from customers.services import call_record, direct_update_send, social_account_save
from integrations.models import WebhookEvent
from integrations.webhooks import webhook_subscribe
from statuspage import public_cache
from statuspage.models import Subscriber
from statuspage.services import statuspage_publish_update
from tests.comms.outbound import Receiver
from tests.statuspage.test_public_pages import PUBLIC_URLS

CUSTOMER_DATA = [
    "Acme Corp",
    "Globex",
    "Jane Roe",
    "jane@acme.example",
    "jane.roe@mail.example",
    "+1 555 0100",
    "hank@volcano.example",
    "Scorpio",
]


def _leaks(text: str) -> list[str]:
    return [word for word in CUSTOMER_DATA if word in text]


@pytest.fixture
def busy(sev1, liaison, acme, globex, settings, django_capture_on_commit_callbacks):
    """Everything the liaison does with customers, a public update with notify, subscribers and webhooks."""
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    Subscriber.objects.create(kind="email", email="fan@example.com", confirmed_at=timezone.now())
    Subscriber.objects.create(
        kind="webhook",
        email="ops@example.com",
        webhook_url="https://hooks.example.com/status",
        confirmed_at=timezone.now(),
    )
    with django_capture_on_commit_callbacks(execute=True):  # forgets the cached "no subscription"
        plain, _ = webhook_subscribe(name="Ops bus", url="https://bus.example.com/coolhead", by=None)
        crm, _ = webhook_subscribe(
            name="CRM", url="https://crm.example.com/coolhead", include_customer_data=True, by=None
        )
    with Receiver(body=b'{"id": "1"}') as mastodon:
        social_account_save(name="Mastodon", url=f"mastodon://token-123456@127.0.0.1:{mastodon.port}")
        with django_capture_on_commit_callbacks(execute=True):
            direct_update_send(
                incident=sev1,
                by=liaison,
                text="Hello {customer}, Jane Roe asked us to call +1 555 0100.",
                eta=timezone.now() + timedelta(hours=2),
            )
            call_record(
                incident=sev1, customer=acme, by=liaison, outcome="called", note="Jane Roe: they wait"
            )
            statuspage_publish_update(
                incident=sev1,
                by=liaison,
                title="Checkout errors",
                status="investigating",
                body="We are on it.",
            )
        public_cache.refresh()
        yield {"plain": plain, "crm": crm, "mastodon": mastodon}


def test_no_public_page_document_or_feed_shows_customer_data(client, busy):
    for url in PUBLIC_URLS:
        response = client.get(url)
        assert response.status_code == 200, url
        assert _leaks(response.content.decode()) == [], url
    incident_page = client.get(
        client.get("/status/api/v2/incidents.json").json()["incidents"][0]["shortlink"]
    )
    assert incident_page.status_code == 200 and _leaks(incident_page.content.decode()) == []


def test_no_subscriber_message_or_social_post_carries_customer_data(busy):
    public = Message.objects.filter(kind__in=[Message.Kind.PUBLIC_UPDATE, Message.Kind.SOCIAL_POST])
    assert {m.kind for m in public} == {Message.Kind.PUBLIC_UPDATE, Message.Kind.SOCIAL_POST}
    for message in public:
        assert _leaks(message.subject + message.body + json.dumps(message.context)) == [], message.kind
    [(_path, _headers, raw)] = busy["mastodon"].requests
    assert _leaks(raw.decode()) == []


def test_only_the_webhook_marked_for_it_gets_customer_data(busy):
    def sent_to(subscription):
        return Message.objects.filter(deliveries__channel=subscription.channel)

    plain = sent_to(busy["plain"])
    assert plain.exists()  # it does get the incident's events (the ETA's is none of them)
    assert not plain.filter(context__event=WebhookEvent.CUSTOMERS).exists()
    for message in plain:
        assert _leaks(message.subject + message.body + json.dumps(message.context)) == [], message.context[
            "event"
        ]

    crm = sent_to(busy["crm"]).filter(context__event=WebhookEvent.CUSTOMERS)
    assert crm.count() == 2  # the direct update and the call
    assert {m.context["entry"]["data"]["customer_event"] for m in crm} == {"update", "call"}
    assert "Acme Corp" in crm.get(context__entry__data__customer_event="call").body
