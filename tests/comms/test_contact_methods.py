"""Contact methods: apprise URLs kept encrypted, sent through the outbox to a real local receiver,
held to the outbound address rule, and never shown, logged or stored in clear."""

import io
import json
import logging

import pytest

from comms import crypto
from comms.models import ContactMethod, Delivery, Message
from comms.services import (
    CommsError,
    ContactMethodNotAllowed,
    contact_method_add,
    contact_method_remove,
    contact_method_test,
    deliveries_send,
    delivery_try_now,
)
from tests.comms.outbound import Connections, FakeDNS, Receiver
from tests.factories import UserFactory

# A credential in every part of the URL an apprise URL can hold one.
PASSWORD = "pw-Zq8xVt3kLm"
TOKEN = "tok-9fJ2hQ7wRx"


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", first_name="Alice", last_name="Pager", email="alice@example.com")


@pytest.fixture
def receiver(local_receivers_allowed):
    with Receiver() as r:
        yield r


def secret_url(receiver: Receiver) -> str:
    return f"json://alice:{PASSWORD}@127.0.0.1:{receiver.port}/hook/{TOKEN}"


def test_it_keeps_the_url_encrypted_and_shows_only_service_and_server(alice, receiver):
    method = contact_method_add(user=alice, label="Phone", url=secret_url(receiver))
    row = ContactMethod.objects.filter(pk=method.pk).values().get()
    assert method.service == "JSON" and method.hint == "json://127.0.0.1/…"
    stored = json.dumps(row, default=str)
    assert PASSWORD not in stored and TOKEN not in stored
    assert crypto.decrypt(row["url_encrypted"]) == secret_url(receiver)


def test_it_refuses_what_it_would_not_send_to(alice, settings):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    refusals = {
        "mailto://user:pw@example.com": "not a kind of contact method",
        "dbus://": "not a kind of contact method",
        "pover://": "apprise does not understand",
        "tgram://nope": "apprise does not understand",
        "json://127.0.0.1:8080/hook": "public address",
        "ntfy://localhost/topic": "public address",
        "ntfys://ntfy.internal/topic": "public address",
        "json://10.0.0.7/hook": "public address",
        "  ": "Enter an apprise URL",
    }
    for url, reason in refusals.items():
        with pytest.raises(CommsError, match=reason):
            contact_method_add(user=alice, label=f"Try {url}", url=url)
    assert not ContactMethod.objects.exists()
    # Hosted services whose URL holds only tokens, and a public self-hosted server, are fine.
    contact_method_add(user=alice, label="Pushover", url="pover://ukey@apptoken")
    contact_method_add(user=alice, label="Own ntfy", url="ntfys://ntfy.example.com/alice-pager")
    assert list(ContactMethod.objects.values_list("hint", flat=True)) == [
        "ntfys://ntfy.example.com/…",
        "pover://…",
    ]


def test_an_internal_server_needs_an_admin_to_allow_it_by_name(alice, settings):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    with pytest.raises(CommsError):
        contact_method_add(user=alice, label="Office ntfy", url="ntfy://ntfy.corp/alice")
    settings.OUTBOUND_ALLOWED_HOSTS = ["ntfy.corp"]
    assert contact_method_add(user=alice, label="Office ntfy", url="ntfy://ntfy.corp/alice").pk


def test_it_sends_through_the_outbox_to_a_local_receiver(alice, receiver):
    method = contact_method_add(user=alice, label="Phone", url=secret_url(receiver))
    delivery = contact_method_test(method=method, by=alice)
    assert delivery.state == Delivery.State.PENDING and delivery.contact_method == method
    delivery = delivery_try_now(delivery=delivery)
    assert delivery.state == Delivery.State.SENT and delivery.attempts == 1
    path, headers, raw = receiver.requests[0]
    assert path == f"/hook/{TOKEN}"
    sent = json.loads(raw)
    assert sent["title"] == "Coolhead test: Phone"
    assert "If you read this, Coolhead can page you here." in sent["message"]
    # A second run of the task finds nothing to claim: sent once.
    assert deliveries_send(delivery_ids=[delivery.pk])["skipped"] == 1
    assert len(receiver.requests) == 1


def test_a_failing_receiver_is_retried_with_backoff_then_dead(alice, receiver, settings):
    settings.COMMS_MAX_ATTEMPTS = 2
    receiver.status = 503
    method = contact_method_add(user=alice, label="Phone", url=secret_url(receiver))
    delivery = delivery_try_now(delivery=contact_method_test(method=method, by=alice))
    assert delivery.state == Delivery.State.FAILED
    assert delivery.last_error == "JSON answered HTTP 503 Service Unavailable"
    assert delivery.next_attempt_at > delivery.updated_at
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.updated_at)  # the backoff is over
    delivery = delivery_try_now(delivery=delivery)
    assert delivery.state == Delivery.State.DEAD and delivery.attempts == 2
    assert len(receiver.requests) == 2


def test_a_client_error_is_dead_at_once(alice, receiver):
    receiver.status = 401
    method = contact_method_add(user=alice, label="Phone", url=secret_url(receiver))
    delivery = delivery_try_now(delivery=contact_method_test(method=method, by=alice))
    assert delivery.state == Delivery.State.DEAD
    assert delivery.last_error == "JSON answered HTTP 401 Unauthorized"


def test_a_name_that_resolves_inside_the_network_is_refused_when_sent(alice, monkeypatch, settings):
    """The server looked public when saved; at send time it resolves to 127.0.0.1: nothing is connected."""
    settings.OUTBOUND_ALLOWED_HOSTS = []
    with Receiver() as inside:
        method = contact_method_add(
            user=alice, label="Phone", url=f"json://hooks.example.net:{inside.port}/x/{TOKEN}"
        )
        dns = FakeDNS(monkeypatch)
        dns.answer("hooks.example.net", "127.0.0.1")
        connections = Connections(monkeypatch)
        delivery = delivery_try_now(delivery=contact_method_test(method=method, by=alice))
    assert delivery.state == Delivery.State.DEAD
    assert delivery.last_error.startswith("Refused: The URL must point to a public address")
    assert "127.0.0.1" not in delivery.last_error
    assert inside.requests == [] and connections.attempts == []
    assert dns.lookups == ["hooks.example.net"]


def test_a_removed_method_or_a_changed_key_ends_dead_with_the_reason(alice, receiver, settings):
    method = contact_method_add(user=alice, label="Phone", url=secret_url(receiver))
    first = contact_method_test(method=method, by=alice)
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    assert delivery_try_now(delivery=first).last_error.startswith("The stored URL cannot be decrypted")
    # With the old key among the fallbacks, the URL reads again.
    settings.SECRET_KEY_FALLBACKS = [old_key]
    again = delivery_try_now(delivery=contact_method_test(method=method, by=alice))
    assert again.state == Delivery.State.SENT
    later = contact_method_test(method=method, by=alice)
    contact_method_remove(method=method, by=alice)
    later = delivery_try_now(delivery=later)
    assert later.state == Delivery.State.DEAD and later.contact_method is None
    assert later.last_error == "The contact method was removed before this could be sent"
    assert later.address == "Phone · json://127.0.0.1/…"  # the record of where it was meant to go


def test_only_the_owner_tests_or_removes_a_method(alice, receiver):
    method = contact_method_add(user=alice, label="Phone", url=secret_url(receiver))
    mallory = UserFactory(username="mallory")
    with pytest.raises(ContactMethodNotAllowed):
        contact_method_test(method=method, by=mallory)
    with pytest.raises(ContactMethodNotAllowed):
        contact_method_remove(method=method, by=mallory)
    assert receiver.requests == [] and ContactMethod.objects.filter(pk=method.pk).exists()


def test_names_are_unique_per_person(alice):
    contact_method_add(user=alice, label="Phone", url="pover://ukey@apptoken")
    with pytest.raises(CommsError, match="named “Phone” already"):
        contact_method_add(user=alice, label="Phone", url="pover://ukey@othertoken")


@pytest.fixture
def console_log():
    """What the portal's console handler (config/settings.py LOGGING) writes, with every logger at DEBUG
    (as with LOG_LEVEL=DEBUG)."""
    console = next(h for h in logging.getLogger().handlers if h.name == "console")
    written = io.StringIO()
    stream = console.setStream(written)
    names = ["", "apprise", "urllib3", "requests_oauthlib", "comms", "django.request"]
    before = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield written
    for name, level in before.items():
        logging.getLogger(name).setLevel(level)
    console.setStream(stream)


def test_no_secret_in_the_outbox_the_logs_or_any_page(
    alice, receiver, admin_user, client, console_log, settings
):
    """The URL's user, password, path token and topic: nowhere but the encrypted column and the receiver.

    The logs are what the portal's console handler writes, with every logger at DEBUG.
    """
    receiver.status = 500  # failures are where libraries quote what they called
    settings.COMMS_MAX_ATTEMPTS = 1
    method = contact_method_add(user=alice, label="Phone", url=secret_url(receiver))
    failed = delivery_try_now(delivery=contact_method_test(method=method, by=alice))
    receiver.status = 200
    sent = delivery_try_now(delivery=contact_method_test(method=method, by=alice))
    assert (failed.state, sent.state) == (Delivery.State.DEAD, Delivery.State.SENT)
    assert len(receiver.requests) == 2  # it did reach the receiver, with its token
    secrets = [PASSWORD, TOKEN, f"alice:{PASSWORD}"]

    rows = json.dumps(
        [
            list(Delivery.objects.values()),
            list(Message.objects.values()),
            list(ContactMethod.objects.values("label", "service", "hint")),
        ],
        default=str,
    )
    assert "127.0.0.1" in rows  # the rows were read
    logged = console_log.getvalue()
    assert "Contact method" in logged and "DEBUG" in logged  # the logs were read
    client.force_login(alice)
    profile = client.get("/settings/profile/").content.decode()
    client.force_login(admin_user)
    outbox = client.get("/comms/outbox/").content.decode()
    message = client.get(f"/comms/outbox/{failed.message_id}/").content.decode()
    admin_list = client.get("/admin/comms/contactmethod/").content.decode()
    admin_row = client.get(f"/admin/comms/contactmethod/{method.pk}/change/").content.decode()
    admin_delivery = client.get(f"/admin/comms/delivery/{failed.pk}/change/").content.decode()
    assert "json://127.0.0.1/…" in profile and "Phone" in admin_list
    for text in (rows, logged, profile, outbox, message, admin_list, admin_row, admin_delivery):
        for secret in secrets:
            assert secret not in text
