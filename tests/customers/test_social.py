"""Social posts through apprise: a local HTTP receiver stands in for a Mastodon server's API. A public update
with "notify" is posted once, shortened to the network's limit with the link to the status page's incident
page whole; without "notify" nothing is posted, and a restricted incident never posts."""

import json

import pytest

from comms import crypto
from comms.models import Channel, Delivery, Message
from comms.services import deliveries_send
from customers.services import CustomerError, social_account_save
from customers.services.social import post_text
from roles.services import role_assign
from statuspage.selectors import page_settings
from statuspage.services import statuspage_publish_update
from tests.comms.outbound import Receiver
from tests.factories import IncidentFactory

TOKEN = "tok-Zq8xVt3kLmSecret"
LONG_BODY = (
    "Payments in the EU time out for most customers since 09:40 UTC. We rolled back the release of this "
    "morning and the error rate is falling; some orders may still fail while the caches warm up again. "
) * 8


@pytest.fixture
def mastodon(local_receivers_allowed):
    answer = json.dumps({"id": "1", "account": {"username": "examplestatus"}}).encode()
    with Receiver(body=answer, headers={"Content-Type": "application/json"}) as receiver:
        yield receiver


@pytest.fixture
def local_receivers_allowed(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def account(db, mastodon):
    return social_account_save(
        name="Mastodon @examplestatus", url=f"mastodon://{TOKEN}@127.0.0.1:{mastodon.port}"
    )


def _publish(incident, by, capture, **kwargs):
    kwargs.setdefault("title", "Checkout errors in the EU")
    kwargs.setdefault("body", LONG_BODY)
    with capture(execute=True):
        return statuspage_publish_update(incident=incident, by=by, status="identified", **kwargs)


def _posts(receiver):
    return [(path, headers, json.loads(raw)) for path, headers, raw in receiver.requests]


def test_the_account_url_is_kept_encrypted_and_the_network_limit_read_from_apprise(account):
    channel = Channel.objects.get(pk=account.channel_id)
    assert channel.apprise_service == "Mastodon" and channel.apprise_hint.startswith("mastodon://127.0.0.1")
    assert channel.apprise_body_limit == 500
    assert TOKEN not in json.dumps(Channel.objects.filter(pk=channel.pk).values().get(), default=str)
    assert TOKEN in crypto.decrypt(channel.apprise_url_encrypted)


def test_a_public_update_is_posted_once_shortened_with_the_link(
    sev1, liaison, account, mastodon, django_capture_on_commit_callbacks
):
    update = _publish(sev1, liaison, django_capture_on_commit_callbacks)

    [(path, headers, payload)] = _posts(mastodon)
    assert path == "/api/v1/statuses"
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    link = f"{page_settings().public_url}/incidents/{update.public_incident.public_id}"
    status = payload["status"]
    assert len(status) <= 500
    assert status.endswith("\n" + link)
    assert status.startswith("Checkout errors in the EU (Identified): Payments in the EU time out")
    assert status[: -len(link) - 1].endswith("…")  # shortened, at a word

    # Recorded in the outbox like any message; a second run of its delivery posts nothing more.
    message = Message.objects.get(kind=Message.Kind.SOCIAL_POST)
    delivery = message.deliveries.get()
    assert delivery.state == Delivery.State.SENT and TOKEN not in delivery.address
    deliveries_send(delivery_ids=[delivery.pk])
    assert len(mastodon.requests) == 1
    assert message.incident == sev1


def test_a_short_update_is_posted_whole(sev1, liaison, account, mastodon, django_capture_on_commit_callbacks):
    update = _publish(sev1, liaison, django_capture_on_commit_callbacks, body="We are looking into it.")
    link = f"{page_settings().public_url}/incidents/{update.public_incident.public_id}"
    [(_path, _headers, payload)] = _posts(mastodon)
    assert payload["status"] == f"Checkout errors in the EU (Identified): We are looking into it.\n{link}"


def test_without_notify_nothing_is_posted(
    sev1, liaison, account, mastodon, django_capture_on_commit_callbacks
):
    _publish(sev1, liaison, django_capture_on_commit_callbacks, deliver_notifications=False)
    assert mastodon.requests == []
    assert not Message.objects.filter(kind=Message.Kind.SOCIAL_POST).exists()


def test_a_restricted_incident_never_posts(commander, account, mastodon, django_capture_on_commit_callbacks):
    incident = IncidentFactory(declared_by=commander, severity=2, is_security=True, rollback_considered="No")
    role_assign(incident=incident, role="incident_commander", user=commander, by=None)
    # Published on the status page on purpose: the social accounts still hear nothing.
    _publish(incident, commander, django_capture_on_commit_callbacks, confirm_restricted=True)
    assert mastodon.requests == []
    assert not Message.objects.filter(kind=Message.Kind.SOCIAL_POST).exists()


def test_an_inactive_account_is_not_posted_to(
    sev1, liaison, account, mastodon, django_capture_on_commit_callbacks
):
    account.is_active = False
    account.save()
    _publish(sev1, liaison, django_capture_on_commit_callbacks)
    assert mastodon.requests == []


def test_the_post_fits_each_networks_limit():
    link = "https://status.example.com/incidents/abcdefghijkl"
    for limit in (280, 300, 500):
        text = post_text(
            title="Checkout errors", status="investigating", body=LONG_BODY, link=link, limit=limit
        )
        assert len(text) <= limit and text.endswith("\n" + link)
        assert text.startswith("Checkout errors (Investigating): Payments")


def test_an_account_url_the_portal_does_not_post_to_is_refused(db, settings):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    for url, reason in {
        "json://example.com/hook": "not a kind of account",
        "mastodon://token@127.0.0.1:8080": "public address",
        "mastodons://": "apprise does not understand",
    }.items():
        with pytest.raises(CustomerError, match=reason):
            social_account_save(name=f"Try {url}", url=url)
    assert not Channel.objects.filter(kind="apprise").exclude(apprise_url_encrypted="").exists()


def test_an_admin_adds_an_account_whose_url_is_never_shown_again(client, admin_user, mastodon):
    from customers.models import SocialAccount

    client.force_login(admin_user)
    url = f"mastodon://{TOKEN}@127.0.0.1:{mastodon.port}"
    response = client.post(
        "/admin/customers/socialaccount/add/", {"name": "Mastodon", "apprise_url": url, "is_active": "on"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    account = SocialAccount.objects.get()
    page = client.get(f"/admin/customers/socialaccount/{account.pk}/change/").content.decode()
    assert "mastodon://127.0.0.1/…" in page and "500 characters" in page and TOKEN not in page
    refused = client.post(
        "/admin/customers/socialaccount/add/", {"name": "Slack", "apprise_url": "json://example.com/x"}
    )
    assert refused.status_code == 200 and "not a kind of account" in refused.content.decode()
    assert SocialAccount.objects.count() == 1
