"""The review.published outgoing webhook event: one signed delivery per subscribed webhook, once.

A restricted incident's review goes only to webhooks marked for restricted incidents.
"""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from comms.models import Delivery, Message
from comms.services import deliveries_send
from incidents.services import incident_change_status, incident_declare
from integrations.webhooks import subscriptions_changed, webhook_subscribe
from reviews.models import Review
from reviews.services import review_start
from tests.factories import UserFactory
from tests.reviews.helpers import worked_sev1

pytestmark = pytest.mark.django_db


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict, bytes]] = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(settings):
    """A local HTTP receiver on a free port (the outbound rule lets 127.0.0.1 through for the test)."""
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def subscribe(url: str, *, events: list[str], restricted: bool = False, name: str = "mirror"):
    subscription, _secret = webhook_subscribe(
        name=name, url=url, events=events, secret="s3cret", include_restricted=restricted, by=None
    )
    subscriptions_changed()  # on commit in production; the test's transaction never commits
    return subscription


def restricted_and_resolved() -> dict:
    ic = UserFactory(first_name="Sam", last_name="Secure")
    incident = incident_declare(
        title="[Security]: Credential leak",
        severity=3,
        declared_by=ic,
        is_security=True,
        rollback_considered="No",
    )
    incident_change_status(incident=incident, status="resolved", by=ic)
    review_start(incident=incident, by=ic)
    return {"incident": incident, "ic": ic}


def publish_through_the_page(client, worked: dict) -> Review:
    incident, ic = worked["incident"], worked["ic"]
    client.force_login(ic)
    number = incident.number
    client.post(f"/incidents/{number}/review/write/", {"summary": "The pool ran out."})
    response = client.post(f"/incidents/{number}/review/publish/", {"public_postmortem": ""})
    assert response.status_code == 302
    review = Review.objects.get(incident=incident)
    assert review.is_published
    return review


def review_events() -> list[Message]:
    return list(Message.objects.filter(kind="webhook_event", context__event="review.published"))


def test_publishing_a_review_sends_one_signed_event_to_each_subscriber(client, receiver):
    worked = worked_sev1()
    subscribed = subscribe(receiver, events=["review.published", "follow_up.created"])
    other = subscribe(receiver, events=["incident.resolved"], name="resolutions only")
    review = publish_through_the_page(client, worked)

    [message] = review_events()
    deliveries = list(Delivery.objects.filter(message=message))
    assert [d.channel_id for d in deliveries] == [subscribed.channel_id]
    assert not Delivery.objects.filter(channel=other.channel).exists()
    document = message.context
    assert document["review"]["id"] == review.pk and document["review"]["state"] == "published"
    assert document["review"]["sections"]["summary"] == "The pool ran out."
    assert document["incident"]["reference"] == worked["incident"].reference

    # Delivered signed, as every comms webhook: HMAC-SHA256 of "v1:{timestamp}:{body}" with the secret.
    assert deliveries_send(delivery_ids=[deliveries[0].pk])["sent"] == 1
    headers, body = Receiver.received[0]
    expected = hmac.new(
        b"s3cret", f"v1:{headers['X-Coolhead-Timestamp']}:".encode() + body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(headers["X-Coolhead-Signature"], "v1=" + expected)
    sent = json.loads(body)
    assert sent["event"] == "review.published"
    assert sent["review"]["url"].endswith(f"/incidents/{worked['incident'].number}/review/")


def test_publishing_twice_is_refused_and_sends_nothing_more(client, receiver):
    worked = worked_sev1()
    subscribe(receiver, events=["review.published"])
    publish_through_the_page(client, worked)
    again = client.post(
        f"/incidents/{worked['incident'].number}/review/publish/", {"public_postmortem": ""}, follow=True
    )
    assert "The review is published already" in again.content.decode()
    assert len(review_events()) == 1


def test_a_restricted_incidents_review_goes_only_to_webhooks_marked_for_restricted(client, receiver):
    worked = restricted_and_resolved()
    plain = subscribe(receiver, events=["review.published"], name="everyone's mirror")
    marked = subscribe(receiver, events=["review.published"], restricted=True, name="security mirror")
    publish_through_the_page(client, worked)

    [message] = review_events()
    assert [d.channel_id for d in message.deliveries.all()] == [marked.channel_id]
    assert not Delivery.objects.filter(channel=plain.channel).exists()


def test_a_restricted_incidents_review_sends_nothing_without_a_marked_webhook(client, receiver):
    worked = restricted_and_resolved()
    subscribe(receiver, events=["review.published"])
    publish_through_the_page(client, worked)
    assert review_events() == []
    assert Review.objects.get(incident=worked["incident"]).is_published
