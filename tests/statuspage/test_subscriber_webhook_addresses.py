"""Anyone may subscribe a webhook: it must never aim the portal at its own network.

The subscribe form refuses what it can judge without DNS; a name that passes
it and resolves inside the network is refused by comms when the update is
sent (a patched resolver, a real receiver on 127.0.0.1 that must hear nothing).
"""

import pytest
from django.core import mail
from django.utils import timezone

from comms.models import Delivery
from statuspage.models import Subscriber
from tests.comms.outbound import Connections, FakeDNS, Receiver

HOOK = {"kind": "webhook", "email": "ops@example.com"}


@pytest.fixture
def subscribe(client, django_capture_on_commit_callbacks):
    def _subscribe(**data):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/status/subscribe/", data, REMOTE_ADDR="203.0.113.7")

    return _subscribe


@pytest.mark.parametrize(
    "url",
    [
        "http://metadata.google.internal./computeMetadata/v1/",  # the trailing dot slipped through
        "http://METADATA.GOOGLE.INTERNAL/computeMetadata/v1/",
        "http://localhost.localdomain/hook",
        "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
        "http://[::ffff:a9fe:a9fe]/latest/meta-data/",  # IPv4-mapped 169.254.169.254, in hex
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64
        "http://[2002:a9fe:a9fe::1]/",  # 6to4
        "http://100.64.0.1/hook",  # CGNAT
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_internal_urls_are_refused_at_once(page, subscribe, url):
    response = subscribe(**HOOK, webhook_url=url)
    assert response.status_code == 400
    assert "must point to a public address" in response.content.decode()
    assert Subscriber.objects.count() == 0 and len(mail.outbox) == 0


def test_a_name_is_accepted_and_checked_when_each_update_is_sent(
    components, liaison, incident, publish, monkeypatch
):
    """A wildcard-DNS name for 127.0.0.1 looks public; comms refuses it when it resolves."""
    dns, connections = FakeDNS(monkeypatch), Connections(monkeypatch)
    dns.answer("127.0.0.1.wildcard-dns.example", "127.0.0.1")
    with Receiver() as local:
        url = f"http://127.0.0.1.wildcard-dns.example:{local.port}/status"
        Subscriber.objects.create(
            kind="webhook", email="x@example.com", webhook_url=url, confirmed_at=timezone.now()
        )
        publish(incident=incident, by=liaison)
    delivery = Delivery.objects.get(address=url)
    assert delivery.state == Delivery.State.DEAD
    assert delivery.last_error.startswith("Refused: The URL must point to a public address")
    assert "127.0.0.1.wildcard-dns.example resolves to an address that is not public" in delivery.last_error
    assert local.requests == [] and connections.attempts == []


def test_an_allowed_internal_receiver_gets_the_update(
    settings, components, liaison, incident, publish, monkeypatch
):
    settings.OUTBOUND_ALLOWED_HOSTS = ["status-receiver.corp.example"]
    dns = FakeDNS(monkeypatch)
    dns.answer("status-receiver.corp.example", "127.0.0.1")
    with Receiver() as local:
        url = f"http://status-receiver.corp.example:{local.port}/status"
        Subscriber.objects.create(
            kind="webhook", email="x@example.com", webhook_url=url, confirmed_at=timezone.now()
        )
        publish(incident=incident, by=liaison)
    assert Delivery.objects.get(address=url).state == Delivery.State.SENT
    assert len(local.requests) == 1
