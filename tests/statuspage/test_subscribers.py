"""Subscribe, confirm, unsubscribe; each published update reaches each confirmed subscriber once."""

import re

import pytest
from django.core import mail

from comms.models import Delivery, Message
from statuspage import tasks
from statuspage.models import PublicUpdate, Subscriber
from statuspage.services import StatuspageError, subscriber_confirm


@pytest.fixture
def subscribe(client, django_capture_on_commit_callbacks):
    def _subscribe(**data):
        data.setdefault("kind", "email")
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/status/subscribe/", data, REMOTE_ADDR=data.pop("ip", "203.0.113.7"))

    return _subscribe


HOOK = {"kind": "webhook", "email": "ops@example.com"}


def confirm_link(message) -> str:
    return re.search(r"http://[^\s]+/status/subscribe/confirm/[^\s/]+/", message.body).group(0)


def test_subscribe_confirm_and_unsubscribe_by_email(client, page, components, subscribe):
    page_response = client.get("/status/subscribe/")
    assert page_response.status_code == 200 and "Subscribe to updates" in page_response.content.decode()

    response = subscribe(email="ann@example.com", components=[components["api"].public_id])
    assert response.status_code == 200 and "Check your inbox" in response.content.decode()
    subscriber = Subscriber.objects.get()
    assert subscriber.confirmed_at is None
    assert [c.name for c in subscriber.components.all()] == ["API"]

    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["ann@example.com"]
    assert "Confirm your subscription" in sent.subject
    assert (
        sent.extra_headers["List-Unsubscribe"]
        == f"<http://127.0.0.1:8000/status/unsubscribe/{subscriber.token}/>"
    )
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    link = confirm_link(sent).removeprefix("http://127.0.0.1:8000")
    confirmed = client.get(link)
    assert confirmed.status_code == 200 and "Subscription confirmed" in confirmed.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.is_active

    unsubscribe_page = client.get(f"/status/unsubscribe/{subscriber.token}/")
    assert unsubscribe_page.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is None  # a GET (a link scanner) unsubscribes nobody
    one_click = client.post(f"/status/unsubscribe/{subscriber.token}/", {"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200 and "Unsubscribed" in one_click.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is not None


def test_one_click_unsubscribe_works_without_a_csrf_token(page, subscribe):
    from django.test import Client

    subscribe(email="bob@example.com")
    subscriber = Subscriber.objects.get()
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(f"/status/unsubscribe/{subscriber.token}/").status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is not None


def test_a_webhook_subscription(page, subscribe):
    response = subscribe(
        kind="webhook", email="ops@example.com", webhook_url="https://hooks.example.com/status"
    )
    assert response.status_code == 200
    subscriber = Subscriber.objects.get()
    assert subscriber.kind == "webhook" and subscriber.webhook_url == "https://hooks.example.com/status"
    assert mail.outbox[0].to == ["ops@example.com"]  # the confirmation goes by e-mail


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"email": "not-an-address"}, "is not a valid e-mail address"),
        ({"email": ""}, "This field is required"),
        ({**HOOK, "webhook_url": "ftp://example.com/x"}, "http:// or https://"),
        ({**HOOK, "webhook_url": "not a url"}, "http:// or https://"),
        ({**HOOK, "webhook_url": "http://127.0.0.1:6379/"}, "public address"),
        ({**HOOK, "webhook_url": "http://10.0.0.8/hook"}, "public address"),
        ({**HOOK, "webhook_url": "http://[::1]/hook"}, "public address"),
        ({**HOOK, "webhook_url": "http://localhost/hook"}, "public address"),
        ({"kind": "pigeon", "email": "a@example.com"}, "Select a valid choice"),
        ({"email": "a@example.com", "components": ["zzzzzzzzzzzz"]}, "Select a valid choice"),
    ],
)  # fmt: skip
def test_bad_input_gets_a_message_and_stores_nothing(page, components, subscribe, data, reason):
    response = subscribe(**data)
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert Subscriber.objects.count() == 0 and len(mail.outbox) == 0


def test_subscribing_is_rate_limited_per_client_address(page, subscribe, settings):
    settings.STATUSPAGE_SUBSCRIBE_LIMIT = 2
    assert subscribe(email="a1@example.com").status_code == 200
    assert subscribe(email="a2@example.com").status_code == 200
    limited = subscribe(email="a3@example.com")
    assert limited.status_code == 429
    assert "too many subscribe requests" in limited.content.decode().lower()
    assert limited.headers["Retry-After"]
    assert Subscriber.objects.count() == 2
    assert subscribe(email="a3@example.com", ip="198.51.100.1").status_code == 200  # another address


def test_subscribing_twice_does_not_tell_or_change_a_confirmed_subscription(page, components, subscribe):
    subscribe(email="ann@example.com")
    subscriber = Subscriber.objects.get()
    subscriber_confirm(token=subscriber.token)
    again = subscribe(email="ANN@example.com", components=[components["api"].public_id])
    assert again.status_code == 200
    assert Subscriber.objects.count() == 1
    assert subscriber.components.count() == 0  # a stranger cannot narrow someone's subscription


def test_a_bad_token_is_a_404(client, page):
    assert client.get("/status/subscribe/confirm/nope/").status_code == 404
    assert client.get("/status/unsubscribe/nope/").status_code == 404
    assert client.post("/status/unsubscribe/nope/").status_code == 404
    with pytest.raises(StatuspageError):
        subscriber_confirm(token="nope")


def make_subscriber(email, *, confirmed=True, unsubscribed=False, components=(), kind="email", url=""):
    from django.utils import timezone

    subscriber = Subscriber.objects.create(
        kind=kind,
        email=email,
        webhook_url=url,
        confirmed_at=timezone.now() if confirmed else None,
        unsubscribed_at=timezone.now() if unsubscribed else None,
    )
    subscriber.components.set(components)
    return subscriber


def test_a_published_update_reaches_each_confirmed_subscriber_once(
    components, liaison, incident, publish, django_capture_on_commit_callbacks, monkeypatch
):
    posted = []
    monkeypatch.setattr(
        "comms.transports._post_json",
        lambda delivery, payload, secret="": posted.append((delivery.address, payload)),
    )
    ann = make_subscriber("ann@example.com")
    api_fan = make_subscriber("api@example.com", components=[components["api"]])
    make_subscriber("web@example.com", components=[components["website"]])  # not about the API
    make_subscriber("pending@example.com", confirmed=False)
    make_subscriber("gone@example.com", unsubscribed=True)
    hook = make_subscriber("ops@example.com", kind="webhook", url="https://hooks.example.com/status")

    update = publish(
        incident=incident, by=liaison, title="Checkout errors",
        component_statuses={components["api"].public_id: "partial_outage"},
    )  # fmt: skip
    emails = sorted(m.to[0] for m in mail.outbox)
    assert emails == ["ann@example.com", "api@example.com"]
    first = next(m for m in mail.outbox if m.to == ["ann@example.com"])
    assert first.subject == "[Acme] Checkout errors: Investigating"
    assert "We are looking into failed payments." in first.body
    assert f"/status/unsubscribe/{ann.token}/" in first.body
    assert first.extra_headers["List-Unsubscribe"].endswith(f"/status/unsubscribe/{ann.token}/>")
    assert "payments-eu" not in first.body  # the internal title stays inside

    webhook = Message.objects.get(deliveries__address="https://hooks.example.com/status")
    assert webhook.incident is None  # the internal incident is never attached to public messages
    assert webhook.context["page"]["status_indicator"] in ("minor", "major")
    assert webhook.context["incident"]["name"] == "Checkout errors"
    assert webhook.context["incident"]["incident_updates"][0]["id"] == update.public_id
    assert webhook.context["meta"]["unsubscribe"].endswith(f"/status/unsubscribe/{hook.token}/")
    assert [address for address, _ in posted] == ["https://hooks.example.com/status"]
    body = posted[0][1]  # Statuspage's webhook body: meta, page, incident at the top level
    assert body["incident"]["name"] == "Checkout errors"
    assert body["incident"]["incident_updates"][0]["body"] == "We are looking into failed payments."
    assert set(body["page"]) == {"id", "status_indicator", "status_description"}
    assert body["meta"]["unsubscribe"].endswith(f"/status/unsubscribe/{hook.token}/")

    # The task runs again (a retry, a duplicate delivery by the broker): nobody hears it twice.
    before = Message.objects.filter(kind="public_update").count()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.fan_out_update("incident", update.pk)
        tasks.fan_out_update("incident", update.pk)
    assert Message.objects.filter(kind="public_update").count() == before == 3
    assert len(mail.outbox) == 2 and len(posted) == 1
    assert Delivery.objects.filter(message__kind="public_update").count() == 3
    assert {m.dedup_key for m in Message.objects.filter(kind="public_update")} == {
        f"statuspage:update:{update.public_id}:subscriber:{s.public_id}" for s in (ann, api_fan, hook)
    }


def test_an_update_published_without_notifications_reaches_nobody(components, liaison, incident, publish):
    make_subscriber("ann@example.com")
    publish(incident=incident, by=liaison, deliver_notifications=False)
    assert PublicUpdate.objects.get().deliver_notifications is False
    assert mail.outbox == []
    assert not Message.objects.filter(kind="public_update").exists()


def test_the_next_update_is_a_new_message(components, liaison, incident, publish):
    make_subscriber("ann@example.com")
    publish(incident=incident, by=liaison)
    publish(incident=incident, by=liaison, status="resolved", body="All good.")
    assert [m.subject for m in mail.outbox] == [
        "[Acme] Checkout errors: Investigating",
        "[Acme] Checkout errors: Resolved",
    ]


def test_a_fan_out_lost_with_the_broker_is_sent_by_the_next_tick(
    components, liaison, incident, publish, monkeypatch, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    make_subscriber("ann@example.com")

    def broker_down(*args, **kwargs):
        raise ConnectionError("the broker is down")

    monkeypatch.setattr(tasks.fan_out_update, "apply_async", broker_down)
    update = publish(incident=incident, by=liaison)  # published all the same
    assert mail.outbox == [] and update.notified_at is None
    monkeypatch.undo()
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        with django_capture_on_commit_callbacks(execute=True):
            tasks.statuspage_tick()
            tasks.statuspage_tick()
    assert [m.to for m in mail.outbox] == [["ann@example.com"]]
    update.refresh_from_db()
    assert update.notified_at is not None
