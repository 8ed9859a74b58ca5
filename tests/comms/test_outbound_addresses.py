"""The outbound address rule: every webhook goes to a public address, checked when it is sent.

Names are resolved through a patched socket.getaddrinfo (the resolver the
delivery path uses) and receivers are real HTTP servers on 127.0.0.1: a test
that says "nothing reached it" means a real server saw no request.
"""

import runpy
import subprocess

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured, ValidationError

from comms import addresses
from comms.models import Channel, Delivery
from comms.services import Recipient, message_send
from tests.comms.outbound import Connections, FakeDNS, Receiver

PUBLIC = "93.184.215.14"  # a globally routable address; Connections never lets a test reach it


@pytest.fixture
def dns(monkeypatch):
    return FakeDNS(monkeypatch)


@pytest.fixture
def connections(monkeypatch):
    return Connections(monkeypatch)


@pytest.fixture
def local():
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def hook_channel(db):
    # Created as an old row would be, without Channel.clean(): the delivery-time check must hold alone.
    return Channel.objects.create(
        name="Subscriber hooks", slug="hooks", kind=Channel.Kind.SLACK, url="", timeout_seconds=2
    )


def send(channel, url, django_capture_on_commit_callbacks) -> Delivery:
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(
            kind="public_update",
            subject="Checkout errors",
            body="We are looking into it.",
            recipients=[Recipient(channel=channel, address=url)],
        )
    return message.deliveries.get()


def assert_refused(delivery: Delivery, *internal: str) -> None:
    assert delivery.state == Delivery.State.DEAD  # permanent: no retry would change the answer
    assert delivery.attempts == 1
    assert delivery.last_error.startswith("Refused: The URL must point to a public address")
    for text in internal:  # never tell what is inside the network
        assert text not in delivery.last_error


# --- Names that resolve inside the network -------------------------------------------------------


@pytest.mark.parametrize("inside", ["127.0.0.1", "169.254.169.254", "10.1.2.3", "100.64.0.7", "::1"])
def test_it_refuses_a_name_that_resolves_to_an_internal_address(
    inside, dns, connections, local, hook_channel, django_capture_on_commit_callbacks
):
    # A wildcard-DNS name such as 127.0.0.1.nip.io passes any check of the URL's text.
    dns.answer("status-hooks.example.com", inside)
    url = f"http://status-hooks.example.com:{local.port}/hook"
    delivery = send(hook_channel, url, django_capture_on_commit_callbacks)
    assert_refused(delivery, inside)
    assert "status-hooks.example.com resolves to an address that is not public" in delivery.last_error
    assert connections.attempts == [] and local.requests == []


def test_it_refuses_a_name_when_any_of_its_addresses_is_internal(
    dns, connections, local, hook_channel, django_capture_on_commit_callbacks
):
    dns.answer("mixed.example.com", PUBLIC, "127.0.0.1")
    delivery = send(
        hook_channel, f"http://mixed.example.com:{local.port}/", django_capture_on_commit_callbacks
    )
    assert_refused(delivery, "127.0.0.1")
    assert connections.attempts == [] and local.requests == []


@pytest.mark.parametrize(
    "host",
    ["metadata.google.internal.", "METADATA.Google.Internal", "localhost.", "ｌｏｃａｌｈｏｓｔ", "metadata"],
)
def test_internal_names_are_refused_in_every_spelling(
    host, dns, connections, hook_channel, django_capture_on_commit_callbacks
):
    # Were the name resolved, it would lead to the metadata service.
    for name in ("metadata.google.internal", "localhost", "metadata"):
        dns.answer(name, "169.254.169.254")
    delivery = send(hook_channel, f"http://{host}/computeMetadata/v1/", django_capture_on_commit_callbacks)
    assert_refused(delivery, "169.254.169.254")
    assert dns.lookups == [] and connections.attempts == []


@pytest.mark.parametrize(
    "inside",
    [
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:a9fe:a9fe",  # IPv4-mapped 169.254.169.254, spelt in hex
        "::127.0.0.1",  # IPv4-compatible
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b:1::a00:1",  # local-use NAT64
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "fe80::1",
        "fc00::1",
        "fec0::1",
    ],
)
def test_ipv6_forms_of_internal_addresses_are_refused_behind_a_name(
    inside, dns, connections, hook_channel, django_capture_on_commit_callbacks
):
    dns.answer("v6.example.com", inside)
    delivery = send(hook_channel, "https://v6.example.com/hook", django_capture_on_commit_callbacks)
    assert_refused(delivery, inside)
    assert connections.attempts == []


# --- Literal addresses ----------------------------------------------------------------------------


def test_an_ipv4_mapped_literal_does_not_reach_a_local_service(
    connections, local, hook_channel, django_capture_on_commit_callbacks
):
    url = f"http://[::ffff:127.0.0.1]:{local.port}/"
    delivery = send(hook_channel, url, django_capture_on_commit_callbacks)
    assert_refused(delivery)
    assert connections.attempts == [] and local.requests == []


def test_an_admin_channel_to_a_private_address_is_refused_at_delivery(
    connections, db, django_capture_on_commit_callbacks
):
    # Saved before the rule existed (or without the admin form): the delivery still refuses it.
    channel = Channel.objects.create(
        name="Legacy", slug="legacy", kind=Channel.Kind.WEBHOOK, url="http://10.0.0.5:8080/hook", secret="s"
    )
    delivery = send(channel, "", django_capture_on_commit_callbacks)
    assert delivery.address == "http://10.0.0.5:8080/hook"
    assert_refused(delivery)
    assert connections.attempts == []


@pytest.mark.parametrize(
    "host", ["127.1", "2130706433", "0x7f.0.0.1", "0177.0.0.1", "１２７。０。０。１", "[::]", "0.0.0.0"]
)
def test_legacy_and_unicode_spellings_of_loopback_are_refused(
    host, connections, local, hook_channel, django_capture_on_commit_callbacks
):
    delivery = send(hook_channel, f"http://{host}:{local.port}/", django_capture_on_commit_callbacks)
    assert_refused(delivery)
    assert connections.attempts == [] and local.requests == []


# --- DNS rebinding --------------------------------------------------------------------------------


def test_the_connection_goes_to_the_address_that_was_checked(
    dns, connections, local, hook_channel, django_capture_on_commit_callbacks
):
    """The name is public when checked and 127.0.0.1 a moment later: the portal never asks twice."""
    dns.answer_in_turn("rebind.example.com", (PUBLIC,), ("127.0.0.1",))
    url = f"http://rebind.example.com:{local.port}/hook"
    delivery = send(hook_channel, url, django_capture_on_commit_callbacks)
    assert connections.attempts == [(PUBLIC, local.port)]
    assert dns.lookups == ["rebind.example.com"]
    assert local.requests == []  # the real server on 127.0.0.1 heard nothing
    assert delivery.state == Delivery.State.FAILED  # the public receiver did not answer: retried
    assert "Could not reach the receiver" in delivery.last_error


def test_each_checked_address_is_tried_in_turn_and_no_other(
    dns, connections, hook_channel, django_capture_on_commit_callbacks
):
    dns.answer("two.example.com", "2606:4700::6810:84e5", PUBLIC)
    send(hook_channel, "https://two.example.com/hook", django_capture_on_commit_callbacks)
    assert connections.attempts == [("2606:4700::6810:84e5", 443), (PUBLIC, 443)]


# --- The allowlist: the one way to an internal host ----------------------------------------------


def test_an_allowed_internal_host_is_reached(
    settings, dns, connections, local, hook_channel, django_capture_on_commit_callbacks
):
    settings.OUTBOUND_ALLOWED_HOSTS = ["hooks.corp.example"]
    dns.answer("hooks.corp.example", "127.0.0.1")
    # Any spelling of the allowed name is the allowed name.
    url = f"http://HOOKS.corp.example.:{local.port}/in?team=ops"
    delivery = send(hook_channel, url, django_capture_on_commit_callbacks)
    assert delivery.state == Delivery.State.SENT, delivery.last_error
    path, headers, _body = local.requests[0]
    assert path == "/in?team=ops"
    assert headers["Host"] == f"hooks.corp.example:{local.port}"  # the name, not the address
    assert connections.attempts == [("127.0.0.1", local.port)]


def test_the_allowlist_is_exact(
    settings, dns, connections, local, hook_channel, django_capture_on_commit_callbacks
):
    settings.OUTBOUND_ALLOWED_HOSTS = ["hooks.corp.example"]
    for name in ("evil.hooks.corp.example", "hooks.corp.example.evil.example"):
        dns.answer(name, "127.0.0.1")
        delivery = send(hook_channel, f"http://{name}:{local.port}/", django_capture_on_commit_callbacks)
        assert_refused(delivery)
    assert connections.attempts == [] and local.requests == []


def test_without_the_setting_the_same_host_is_refused(
    settings, dns, connections, local, hook_channel, django_capture_on_commit_callbacks
):
    assert settings.OUTBOUND_ALLOWED_HOSTS == []  # the default is strict
    dns.answer("hooks.corp.example", "127.0.0.1")
    delivery = send(
        hook_channel, f"http://hooks.corp.example:{local.port}/", django_capture_on_commit_callbacks
    )
    assert_refused(delivery, "127.0.0.1")
    assert local.requests == []


@pytest.mark.parametrize(
    ("value", "ok"),
    [("hooks.corp.example,10.0.0.5,::1", True), ("https://hooks.corp.example", False),
     ("hooks.corp.example:8080", False), ("*.corp.example", False), (".corp.example", False)],
)  # fmt: skip
def test_the_setting_takes_exact_hosts_only(monkeypatch, value, ok):
    monkeypatch.setenv("OUTBOUND_ALLOWED_HOSTS", value)
    path = str(django_settings.BASE_DIR / "config" / "settings.py")
    if ok:
        assert runpy.run_path(path)["OUTBOUND_ALLOWED_HOSTS"] == value.split(",")
    else:
        with pytest.raises(ImproperlyConfigured, match="OUTBOUND_ALLOWED_HOSTS lists exact host names"):
            runpy.run_path(path)


# --- Redirects and what a receiver's answer may show ----------------------------------------------


@pytest.mark.parametrize("status", [302, 307, 308])
def test_a_redirect_to_an_internal_address_is_not_followed(
    status, settings, dns, hook_channel, django_capture_on_commit_callbacks
):
    settings.OUTBOUND_ALLOWED_HOSTS = ["hooks.corp.example"]
    dns.answer("hooks.corp.example", "127.0.0.1")
    with Receiver() as internal, Receiver(status=status) as receiver:
        receiver.headers = {"Location": f"http://127.0.0.1:{internal.port}/admin"}
        url = f"http://hooks.corp.example:{receiver.port}/hook"
        delivery = send(hook_channel, url, django_capture_on_commit_callbacks)
    assert len(receiver.requests) == 1
    assert internal.requests == []
    assert delivery.state == Delivery.State.DEAD
    assert f"HTTP {status}" in delivery.last_error and "redirects are not followed" in delivery.last_error
    assert str(internal.port) not in delivery.last_error


def test_only_a_few_words_of_a_receivers_error_are_kept(
    settings, local, hook_channel, django_capture_on_commit_callbacks
):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    local.status = 500
    local.body = b"Traceback\n" + b"SECRET_LINE internal detail\r\n" * 200
    delivery = send(hook_channel, f"http://127.0.0.1:{local.port}/", django_capture_on_commit_callbacks)
    assert delivery.state == Delivery.State.FAILED
    assert delivery.last_error.startswith("HTTP 500 Internal Server Error: Traceback SECRET_LINE")
    assert len(delivery.last_error) <= 300
    assert "\n" not in delivery.last_error and "\r" not in delivery.last_error


# --- HTTPS: the checked address, the name's certificate ---------------------------------------


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for hooks.corp.example (openssl, as on any server)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=hooks.corp.example", "-addext", "subjectAltName=DNS:hooks.corp.example",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_receiver(certificate, monkeypatch):
    import ssl

    from comms import transports

    cert, key = certificate
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    # The portal trusts this certificate the way it trusts the system's CAs.
    client_side = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(transports, "tls_context", lambda: client_side)
    with Receiver(tls=server_side) as receiver:
        yield receiver


def test_https_connects_to_the_checked_address_and_verifies_the_names_certificate(
    settings, dns, connections, tls_receiver, hook_channel, django_capture_on_commit_callbacks
):
    settings.OUTBOUND_ALLOWED_HOSTS = ["hooks.corp.example", "other.corp.example"]
    dns.answer("hooks.corp.example", "127.0.0.1")
    dns.answer("other.corp.example", "127.0.0.1")
    url = f"https://hooks.corp.example:{tls_receiver.port}/hook"
    delivery = send(hook_channel, url, django_capture_on_commit_callbacks)
    assert delivery.state == Delivery.State.SENT, delivery.last_error
    assert tls_receiver.requests[0][1]["Host"] == f"hooks.corp.example:{tls_receiver.port}"
    assert connections.attempts == [("127.0.0.1", tls_receiver.port)]

    # The same server under another name: its certificate does not name it, so nothing is sent.
    other = send(
        hook_channel,
        f"https://other.corp.example:{tls_receiver.port}/hook",
        django_capture_on_commit_callbacks,
    )
    assert other.state == Delivery.State.FAILED
    assert "certificate" in other.last_error.lower()
    assert len(tls_receiver.requests) == 1


# --- Early checks: a clear answer where the URL is entered ------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/", "http://10.0.0.8/", "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/", "http://[::1]/", "http://[::ffff:10.0.0.1]/", "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:a9fe:a9fe::1]/", "http://[ff02::1]/", "http://224.0.0.1/", "http://0.0.0.0/",
        "http://2130706433/", "http://localhost/", "http://localhost./", "http://metadata.google.internal./",
        "http://printer.local/", "http://router.lan/", "http://redis:6379/", "http://user:pw@example.com/",
        "ftp://example.com/",
    ],
)  # fmt: skip
def test_early_checks_refuse_what_needs_no_dns(url):
    assert addresses.url_refusal(url) is not None


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example.com/x", "https://hooks.example.com./x", "http://8.8.8.8:8080/",
     "http://[2606:4700::1]/", "http://[64:ff9b::808:808]/", "https://bücher.example/"],
)  # fmt: skip
def test_early_checks_let_public_urls_through(url):
    assert addresses.url_refusal(url) is None


def test_early_checks_let_an_allowed_host_through(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["hooks.corp.example", "10.0.0.5"]
    assert addresses.url_refusal("http://hooks.corp.example/in") is None
    assert addresses.url_refusal("http://10.0.0.5:8080/in") is None
    assert addresses.url_refusal("http://10.0.0.6/in") is not None


def test_a_channel_to_an_internal_address_cannot_be_saved(db):
    channel = Channel(name="x", slug="x", kind=Channel.Kind.SLACK, url="http://[::ffff:169.254.169.254]/")
    with pytest.raises(ValidationError) as refused:
        channel.full_clean()
    assert "public address" in refused.value.message_dict["url"][0]


def test_the_channel_admin_form_refuses_an_internal_address(admin_client):
    response = admin_client.post(
        "/admin/comms/channel/add/",
        {"name": "Meta", "slug": "meta", "kind": "webhook", "url": "http://metadata.google.internal./x",
         "secret": "s3cret", "timeout_seconds": 10, "is_active": "on"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "is a local or internal name" in response.content.decode()
    assert not Channel.objects.filter(slug="meta").exists()


def test_the_webhook_subscribe_api_refuses_an_internal_address(admin_user):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(admin_user)
    response = api.post(
        "/api/v1/webhooks/", {"name": "meta", "url": "http://[::ffff:a9fe:a9fe]/"}, format="json"
    )
    assert response.status_code == 400
    assert "public address" in response.json()["detail"]
    assert not Channel.objects.filter(kind="webhook").exists()


def test_a_personal_webhook_to_an_internal_address_is_refused(db):
    from roles.models import Profile
    from tests.factories import UserFactory

    profile = Profile(user=UserFactory())
    profile.webhook_url = "http://169.254.169.254/latest/"
    with pytest.raises(ValidationError) as refused:
        profile.full_clean()
    assert "public address" in refused.value.message_dict["webhook_url"][0]
    profile.webhook_url = "https://hooks.example.com/me"
    profile.full_clean()
