import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from comms.models import Delivery, Message
from comms.services import deliveries_send
from incidents.services import incident_change_severity, incident_change_status, incident_declare
from integrations.models import OutgoingWebhook
from integrations.webhooks import webhook_subscribe
from roles.services import role_assign
from tests.api.conftest import assert_error
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db

RECEIVER_PORT = 8710  # this work's port range is 8700-8799


def events_sent() -> list[str]:
    return [m.context["event"] for m in Message.objects.filter(kind="webhook_event").order_by("id")]


@pytest.fixture
def local_receiver_allowed(settings):
    """The receivers here listen on 127.0.0.1, an internal host only the setting allows."""
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def subscription(db, local_receiver_allowed):
    sub, _ = webhook_subscribe(
        name="ops bot", url=f"http://127.0.0.1:{RECEIVER_PORT}/hook", secret="s3cret", by=None
    )
    return sub


def test_each_incident_event_is_one_outbox_message(subscription, admin_user):
    incident = incident_declare(title="[Outage]: Search", severity=3, declared_by=admin_user)
    incident_change_status(incident=incident, status="investigating", by=admin_user)
    incident_change_severity(incident=incident, severity=2, by=admin_user)
    role_assign(incident=incident, role="scribe", user=UserFactory(), by=admin_user)
    incident_change_severity(incident=incident, severity=3, by=admin_user, note="Only search")
    incident_change_status(incident=incident, status="resolved", by=admin_user)
    assert events_sent() == [
        "incident.declared",
        "incident.status_changed",
        "incident.severity_changed",
        "incident.role_assigned",
        "incident.severity_changed",
        "incident.status_changed",
        "incident.resolved",
    ]
    message = Message.objects.filter(kind="webhook_event").order_by("id").last()
    assert message.incident == incident
    assert message.context["incident"]["status"] == "resolved"
    assert Delivery.objects.filter(message=message, channel=subscription.channel).count() == 1


def test_a_public_update_is_an_event_with_its_final_text(subscription, admin_user):
    from statuspage.services import statuspage_publish_update

    incident = IncidentFactory()
    statuspage_publish_update(
        incident=incident, by=admin_user, title="Search slow", status="identified", body="Cause found."
    )
    message = Message.objects.filter(
        kind="webhook_event", context__event="incident.public_update_posted"
    ).get()
    assert "Cause found." in message.body
    assert message.context["entry"]["data"]["status"] == "identified"


def test_only_the_subscribed_events_are_sent(admin_user, local_receiver_allowed):
    webhook_subscribe(name="resolutions", url="http://127.0.0.1:8710/", events=["incident.resolved"], by=None)
    incident = incident_declare(title="x", severity=4, declared_by=admin_user)
    incident_change_status(incident=incident, status="resolved", by=admin_user)
    assert events_sent() == ["incident.resolved"]


def test_restricted_incidents_are_not_sent_unless_asked(subscription, admin_user):
    incident_declare(title="[Security]: key leaked", severity=2, declared_by=admin_user, is_security=True)
    assert events_sent() == []
    webhook_subscribe(name="security team", url="http://127.0.0.1:8710/", include_restricted=True, by=None)
    incident_declare(title="[Security]: another", severity=2, declared_by=admin_user, is_security=True)
    assert events_sent() == ["incident.declared"]


def test_a_rolled_back_change_sends_nothing(subscription, admin_user):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        incident_declare(title="x", severity=4, declared_by=admin_user)
        raise RuntimeError
    assert Message.objects.count() == 0


def test_the_delivery_is_signed_like_every_comms_webhook(subscription, admin_user):
    received: list[tuple[dict, bytes]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", RECEIVER_PORT), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        incident_declare(title="[Outage]: Signed", severity=4, declared_by=admin_user)
        delivery = Delivery.objects.get(message__kind="webhook_event")
        assert deliveries_send(delivery_ids=[delivery.pk])["sent"] == 1
    finally:
        server.shutdown()
        server.server_close()
    headers, body = received[0]
    timestamp = headers["X-Coolhead-Timestamp"]
    expected = "v1=" + hmac.new(b"s3cret", f"v1:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Coolhead-Signature"], expected)
    document = json.loads(body)
    # The event's own document is the body (comms puts a message's context at the top level).
    assert document["event"] == "incident.declared"
    assert document["incident"]["title"] == "[Outage]: Signed" and document["incident"]["status"] == "triage"
    assert document["entry"]["kind"] == "status"


def test_admins_manage_subscriptions_through_the_api(admin_api, api):
    payload = {
        "name": "chatops",
        "url": "https://hooks.example.com/coolhead",
        "events": ["incident.declared"],
    }
    assert_error(api.post("/api/v1/webhooks/", payload, format="json"), 403)
    assert_error(api.get("/api/v1/webhooks/"), 403)
    response = admin_api.post("/api/v1/webhooks/", payload, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["secret"] and created["events"] == ["incident.declared"]
    assert [w["name"] for w in admin_api.get("/api/v1/webhooks/").json()] == ["chatops"]
    assert "secret" not in admin_api.get("/api/v1/webhooks/").json()[0]
    assert admin_api.delete(f"/api/v1/webhooks/{created['id']}/").status_code == 204
    assert not OutgoingWebhook.objects.get().is_active
    assert_error(admin_api.delete(f"/api/v1/webhooks/{created['id']}/"), 409)


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "x", "url": "ftp://example.com/"},
        {"name": "x", "url": "https://example.com/", "events": ["incident.exploded"]},
        {"name": "x", "url": "https://example.com/", "events": []},
        {"url": "https://example.com/"},
    ],
)
def test_bad_subscriptions_are_400_and_write_nothing(admin_api, payload):
    assert_error(admin_api.post("/api/v1/webhooks/", payload, format="json"), 400)
    assert OutgoingWebhook.objects.count() == 0


def test_the_response_tools_are_webhook_events_with_their_record(subscription, admin_user):
    from incidents.services import tools

    incident = incident_declare(title="[Outage]: Search", severity=2, declared_by=admin_user)
    tools.incident_set_contacts(incident=incident, by=admin_user, bridge_url="https://meet.example.com/x")
    hypothesis = tools.hypothesis_raise(incident=incident, by=admin_user, statement="Index corrupt")
    tools.decision_record(incident=incident, by=admin_user, kind="fix", summary="Reindex", reason="Corrupt")
    tools.change_record(
        incident=incident,
        by=admin_user,
        what="API key",
        where="search",
        old_value="sk_a",
        new_value="sk_b",
        is_sensitive=True,
    )
    tools.verification_record(incident=incident, by=admin_user, checked="Search answers")
    assert events_sent()[1:] == [
        "incident.contacts_changed",
        "incident.hypothesis",
        "incident.decision",
        "incident.change",
        "incident.verification",
    ]
    messages = list(Message.objects.filter(kind="webhook_event").order_by("id"))
    assert messages[2].context["record"] == {
        "type": "hypothesis",
        "id": hypothesis.pk,
        "statement": "Index corrupt",
        "state": "open",
        "evidence": "",
        "evidence_url": "",
    }
    change = messages[4].context["record"]
    assert (change["old_value"], change["new_value"], change["values_hidden"]) == ("••••••", "••••••", True)
    assert "sk_a" not in json.dumps(messages[4].context) + messages[4].body
    assert messages[-1].context["incident"]["join"]["bridge_url"] == "https://meet.example.com/x"
    assert messages[-1].context["incident"]["rollback_question_open"] is True
