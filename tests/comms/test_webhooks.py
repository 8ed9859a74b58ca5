"""Slack-style and signed webhooks against a real local HTTP receiver."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from comms.models import Delivery
from comms.services import Recipient, message_send
from tests.comms.smtp_sink import free_port


class Receiver:
    """Answers each POST with the next planned status; records what it got."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.plan: list[int] = []
        self.hang_seconds = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                if receiver.hang_seconds:
                    time.sleep(receiver.hang_seconds)
                status = receiver.plan.pop(0) if receiver.plan else 200
                text = b"<b>nope</b> " * 300 if status >= 400 else b"ok"
                self.send_response(status)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args):
                pass

        self.port = free_port(8350)
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.url = f"http://127.0.0.1:{self.port}/hook"

    def __enter__(self) -> "Receiver":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(local_receivers_allowed):
    with Receiver() as r:
        yield r


def _send(channel, django_capture_on_commit_callbacks, **extra):
    with django_capture_on_commit_callbacks(execute=True):
        return message_send(
            kind="webhook_event",
            subject="INC declared",
            body="**Checkout** fails for *some* users",
            recipients=[Recipient(channel=channel)],
            context={"event": "incident.declared"},
            **extra,
        )


def verify(secret: str, headers: dict[str, str], raw_body: bytes, *, tolerance: int = 300) -> bool:
    """The recipe documented in comms/transports.py, as a receiver would write it."""
    timestamp = headers["X-Coolhead-Timestamp"]
    expected = (
        "v1=" + hmac.new(secret.encode(), f"v1:{timestamp}:".encode() + raw_body, hashlib.sha256).hexdigest()
    )
    return (
        hmac.compare_digest(expected, headers["X-Coolhead-Signature"])
        and abs(time.time() - int(timestamp)) < tolerance
    )


def test_a_signed_webhook_can_be_verified_with_the_documented_recipe(
    receiver, signed_channel, incident, django_capture_on_commit_callbacks
):
    signed_channel.url = receiver.url
    signed_channel.save()
    message = _send(signed_channel, django_capture_on_commit_callbacks, incident=incident)
    headers, raw = receiver.requests[0]
    assert headers["Content-Type"] == "application/json"
    assert verify("s3cret-shared-with-the-receiver", headers, raw)
    assert not verify("another-secret", headers, raw)
    assert not verify("s3cret-shared-with-the-receiver", headers, raw.replace(b"Checkout", b"Checkin"))
    payload = json.loads(raw)
    delivery = message.deliveries.get()
    assert payload["id"] == delivery.idempotency_key == headers["X-Coolhead-Delivery"]
    assert payload["kind"] == "webhook_event"
    assert payload["incident"]["reference"] == incident.reference
    assert payload["event"] == "incident.declared"  # the context, at the top level
    assert delivery.state == Delivery.State.SENT


def test_a_slack_webhook_gets_text_and_blocks(
    receiver, slack_channel, incident, django_capture_on_commit_callbacks
):
    slack_channel.url = receiver.url
    slack_channel.save()
    _send(slack_channel, django_capture_on_commit_callbacks, incident=incident)
    headers, raw = receiver.requests[0]
    payload = json.loads(raw)
    assert payload["text"].startswith("INC declared\nCheckout fails for some users")
    assert payload["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "INC declared"}}
    assert any(incident.reference in json.dumps(b) for b in payload["blocks"])
    assert "X-Coolhead-Signature" not in headers


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_and_rate_limits_are_retried(
    receiver, slack_channel, status, django_capture_on_commit_callbacks
):
    receiver.plan = [status]
    slack_channel.url = receiver.url
    slack_channel.save()
    _send(slack_channel, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.FAILED
    assert f"HTTP {status}" in delivery.last_error
    assert len(delivery.last_error) <= 1000


@pytest.mark.parametrize("status", [400, 403, 404, 410])
def test_other_client_errors_are_dead_at_once(
    receiver, slack_channel, status, django_capture_on_commit_callbacks
):
    receiver.plan = [status]
    slack_channel.url = receiver.url
    slack_channel.save()
    _send(slack_channel, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.DEAD
    assert delivery.attempts == 1


def test_a_receiver_that_hangs_is_cut_off_by_the_timeout(
    receiver, slack_channel, django_capture_on_commit_callbacks
):
    receiver.hang_seconds = 3
    slack_channel.url = receiver.url
    slack_channel.timeout_seconds = 1
    slack_channel.save()
    _send(slack_channel, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.FAILED
    assert "No answer within 1 s" in delivery.last_error


def test_a_receiver_that_is_down_is_retried(
    slack_channel, local_receivers_allowed, django_capture_on_commit_callbacks
):
    slack_channel.url = f"http://127.0.0.1:{free_port(8380)}/nobody-listens"
    slack_channel.save()
    _send(slack_channel, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.FAILED
    assert "Could not reach the receiver" in delivery.last_error


def test_a_recipient_url_overrides_the_channels(receiver, slack_channel, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message_send(
            kind="public_update",
            subject="Resolved",
            body="All good",
            recipients=[Recipient(channel=slack_channel, address=receiver.url + "?subscriber=7")],
        )
    assert len(receiver.requests) == 1
    assert Delivery.objects.get().state == Delivery.State.SENT


def test_the_context_sets_the_body_of_a_known_format(
    receiver, signed_channel, incident, django_capture_on_commit_callbacks
):
    """The status page sends Statuspage-style bodies: its context keys win over the envelope."""
    signed_channel.url = receiver.url
    signed_channel.save()
    statuspage_body = {
        "meta": {"unsubscribe": "https://x/u/1"},
        "page": {"id": "p1"},
        "incident": {"name": "Checkout"},
    }
    with django_capture_on_commit_callbacks(execute=True):
        message_send(
            kind="public_update",
            subject="Update",
            body="x",
            incident=incident,
            recipients=[Recipient(channel=signed_channel)],
            context=statuspage_body,
        )
    payload = json.loads(receiver.requests[0][1])
    assert payload["meta"] == statuspage_body["meta"]
    assert payload["page"] == statuspage_body["page"]
    assert payload["incident"] == {"name": "Checkout"}
    assert payload["id"] == Delivery.objects.get().idempotency_key
