"""Secrets in the outbox: what every display shows (never a secret) and what the recipient gets (all of it).

A sensitive message (account mail) is a note in the outbox and the admin, and
its body is erased once delivery ends; other messages name the links they carry
that act for their recipient, and every display masks those.
"""

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse

from comms import services, tasks, transports
from comms.models import SECRET_PLACEHOLDER, Channel, Delivery, Message
from comms.selectors import email_channel, in_app_channel
from comms.services import CommsError, Recipient, message_send
from tests.comms.smtp_sink import SinkServer
from tests.factories import UserFactory

RESET = "https://portal.example/accounts/password/reset/key/1a-c9v2-SECRETKEY0123456789/"
ACK = "https://portal.example/roles/pages/ack/eyJwYWdlIjoxfQ:SIGNEDTOKEN0123456789/"


@pytest.fixture
def smtp(db, settings):
    # Recipients starting with "bounce" are refused for good (550), "later" for now (451).
    with SinkServer() as server:
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": server.port, "timeout": 5},
            }
        }
        yield server.sink


@pytest.fixture
def superuser_client(client, admin_user):
    client.force_login(admin_user)
    return client


def _sensitive(address: str = "iris@example.com", *, capture, execute: bool = False) -> Message:
    with capture(execute=execute):
        return message_send(
            kind=Message.Kind.ACCOUNT,
            subject="Password reset",
            body=f"Choose a new password: {RESET}",
            recipients=[Recipient(channel=email_channel(), address=address)],
            sensitive=True,
        )


def _shown(client, message: Message) -> str:
    pages = [
        reverse("outbox"),
        reverse("outbox_message", args=[message.pk]),
        reverse("admin:comms_message_changelist"),
        reverse("admin:comms_message_change", args=[message.pk]),
        reverse("admin:comms_delivery_changelist"),
        *(reverse("admin:comms_delivery_change", args=[d.pk]) for d in message.deliveries.all()),
    ]
    responses = [client.get(page) for page in pages]
    assert all(r.status_code == 200 for r in responses)
    return "\n".join(r.content.decode() for r in responses)


# --- Sensitive messages: a note, erased once delivered -------------------------------------------


def test_a_sensitive_message_is_a_note_everywhere_and_is_erased_once_sent(
    superuser_client, django_capture_on_commit_callbacks
):
    message = _sensitive(capture=django_capture_on_commit_callbacks)
    shown = _shown(superuser_client, message)
    assert "SECRETKEY" not in shown
    assert "Password reset" in shown and "iris@example.com" in shown
    assert "carries a secret" in shown and "erased as soon as its delivery ends" in shown

    assert tasks.deliver([message.deliveries.get().pk])["sent"] == 1
    assert RESET in mail.outbox[0].body  # the person gets the link

    message.refresh_from_db()
    assert message.body == "" and message.headers == {} and message.context == {}
    assert message.body_erased_at is not None
    assert "was erased at" in superuser_client.get(reverse("outbox_message", args=[message.pk])).text


def test_a_dead_sensitive_message_is_erased_and_a_resend_is_refused_with_a_reason(
    smtp, superuser_client, django_capture_on_commit_callbacks
):
    message = _sensitive("bounce@example.com", capture=django_capture_on_commit_callbacks, execute=True)
    delivery = message.deliveries.get()
    assert delivery.state == Delivery.State.DEAD
    message.refresh_from_db()
    assert message.body_erased_at is not None and "SECRETKEY" not in message.body

    # The outbox says why there is no re-send button; the endpoint refuses all the same.
    page = superuser_client.get(reverse("outbox_message", args=[message.pk])).text
    assert "Secret erased: cannot be re-sent" in page
    assert reverse("delivery_resend", args=[delivery.pk]) not in page
    response = superuser_client.post(
        reverse("delivery_resend", args=[delivery.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 409
    assert "cannot be sent again" in response.text
    # ... and so does the admin's action.
    superuser_client.post(
        reverse("admin:comms_delivery_changelist"),
        {"action": "resend", "_selected_action": [delivery.pk]},
    )
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.DEAD
    assert smtp.received == []


def test_a_sensitive_message_waiting_for_a_retry_keeps_its_secret_for_it(
    smtp, django_capture_on_commit_callbacks
):
    message = _sensitive("later@example.com", capture=django_capture_on_commit_callbacks, execute=True)
    assert message.deliveries.get().state == Delivery.State.FAILED
    message.refresh_from_db()
    assert RESET in message.body and message.body_erased_at is None


def test_a_resend_that_raced_with_the_erasure_sends_no_empty_mail(db, django_capture_on_commit_callbacks):
    message = _sensitive(capture=django_capture_on_commit_callbacks)
    delivery = message.deliveries.get()
    services.deliveries_send(delivery_ids=[delivery.pk])
    assert len(mail.outbox) == 1
    # A re-send committed while the worker erased (two UPDATEs that did not see each other).
    Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.PENDING)

    assert services.deliveries_send(delivery_ids=[delivery.pk]) == {"sent": 0, "failed": 1, "skipped": 0}
    assert len(mail.outbox) == 1
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.DEAD
    assert "cannot be sent again" in delivery.last_error


def test_the_sweeper_erases_what_a_killed_worker_left(db, django_capture_on_commit_callbacks):
    message = _sensitive(capture=django_capture_on_commit_callbacks)
    # The worker recorded "sent" and died before the erasure.
    message.deliveries.update(state=Delivery.State.SENT)
    tasks.sweep_outbox()
    message.refresh_from_db()
    assert message.body == "" and message.body_erased_at is not None


def test_a_secret_is_never_sent_to_the_bell(db):
    person = UserFactory()
    with pytest.raises(CommsError, match="not to the bell"):
        message_send(
            kind="account",
            subject="Code",
            body="123456",
            recipients=[Recipient(channel=in_app_channel(), user=person)],
            sensitive=True,
        )
    assert not Message.objects.exists()


# --- Masked links: the body is shown, the links in it are not ---------------------------------------


def _page_like(recipients, capture, *, execute: bool = False) -> Message:
    with capture(execute=execute):
        return message_send(
            kind="page",
            subject="Page: checkout",
            body=f"You are paged.\n\nAcknowledge: {ACK}\nIncident room: https://portal.example/incidents/4/",
            recipients=recipients,
            headers={"List-Unsubscribe": f"<{ACK}>"},
            context={"ack_url": ACK, "nested": [{"link": ACK}]},
            secret_values=[ACK],
        )


def test_secret_links_are_masked_in_the_outbox_and_the_admin(
    superuser_client, django_capture_on_commit_callbacks
):
    message = _page_like(
        [Recipient(channel=email_channel(), address="dev@example.com")], django_capture_on_commit_callbacks
    )
    shown = _shown(superuser_client, message)
    assert "SIGNEDTOKEN" not in shown
    assert "You are paged." in shown and "https://portal.example/incidents/4/" in shown
    assert SECRET_PLACEHOLDER in shown
    assert message.shown_context == {"ack_url": SECRET_PLACEHOLDER, "nested": [{"link": SECRET_PLACEHOLDER}]}
    assert message.shown_headers == {"List-Unsubscribe": f"<{SECRET_PLACEHOLDER}>"}


def test_the_delivered_message_carries_the_secret_links(
    db, signed_channel, monkeypatch, django_capture_on_commit_callbacks
):
    posted = []
    monkeypatch.setattr(transports, "_post_json", lambda delivery, payload, secret="": posted.append(payload))
    _page_like(
        [
            Recipient(channel=email_channel(), address="dev@example.com"),
            Recipient(channel=signed_channel),
        ],
        django_capture_on_commit_callbacks,
        execute=True,
    )
    sent = mail.outbox[0]
    assert ACK in sent.body and ACK in sent.alternatives[0].content
    assert sent.extra_headers["List-Unsubscribe"] == f"<{ACK}>"
    assert posted[0]["ack_url"] == ACK and ACK in posted[0]["body"]


@pytest.mark.parametrize(
    "values", [["short"], "a-single-string-value", [123456789], ["x" * 2001], ["abcdefgh"] * 21]
)
def test_bad_secret_values_are_refused(db, values):
    with pytest.raises(CommsError, match="Secret values"):
        message_send(
            kind="other",
            subject="Hello",
            body="x",
            recipients=[Recipient(channel=email_channel(), address="a@example.com")],
            secret_values=values,
        )


# --- Webhook addresses and channel secrets ------------------------------------------------------------


def test_a_webhook_url_is_shown_by_its_host_only(superuser_client, django_capture_on_commit_callbacks):
    person = UserFactory(username="dev.deputy")
    personal = Channel.objects.create(
        name="Personal webhooks", slug="personal-webhook", kind=Channel.Kind.SLACK
    )
    url = "https://hooks.slack.example/services/T0/B0/PERSONALWEBHOOKSECRET"
    with django_capture_on_commit_callbacks():
        message = message_send(
            kind="other",
            subject="Hello",
            body="x",
            recipients=[Recipient(channel=personal, address=url, user=person)],
        )
    shown = _shown(superuser_client, message)
    assert "PERSONALWEBHOOKSECRET" not in shown
    assert "https://hooks.slack.example/…" in shown
    assert "PERSONALWEBHOOKSECRET" not in superuser_client.get(reverse("admin:comms_channel_changelist")).text
    # Searching the deliveries by a part of the URL finds nothing (no guessing it piece by piece).
    found = superuser_client.get(reverse("admin:comms_delivery_changelist"), {"q": "PERSONALWEBHOOK"})
    assert "0 deliveries" in found.text


def test_an_email_address_is_still_found_by_the_admin_search(
    superuser_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        message_send(
            kind="other", subject="Hi", body="x",
            recipients=[Recipient(channel=email_channel(), address="findme@example.com")],
        )  # fmt: skip
    found = superuser_client.get(reverse("admin:comms_delivery_changelist"), {"q": "findme"})
    assert "1 delivery" in found.text


def test_a_channel_secret_is_written_once_and_never_shown(superuser_client, signed_channel):
    change = reverse("admin:comms_channel_change", args=[signed_channel.pk])
    assert signed_channel.secret not in superuser_client.get(change).text
    form = {
        "name": signed_channel.name,
        "slug": signed_channel.slug,
        "kind": signed_channel.kind,
        "url": "https://hooks.example.com/in",
        "secret": "",
        "timeout_seconds": 5,
        "is_active": "on",
    }
    # Saving without typing a secret keeps the one that is stored.
    assert superuser_client.post(change, form).status_code == 302
    signed_channel.refresh_from_db()
    assert signed_channel.secret == "s3cret-shared-with-the-receiver"
    assert signed_channel.timeout_seconds == 5
    # Typing one replaces it.
    assert superuser_client.post(change, form | {"secret": "a-new-shared-secret"}).status_code == 302
    signed_channel.refresh_from_db()
    assert signed_channel.secret == "a-new-shared-secret"
    assert "a-new-shared-secret" not in superuser_client.get(change).text


# --- Who may read the outbox in the admin -------------------------------------------------------------


def test_staff_with_every_comms_model_permission_but_the_outbox_one_reads_no_message_in_the_admin(
    client, staff_user, django_capture_on_commit_callbacks
):
    staff_user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="comms").exclude(codename="view_outbox")
    )
    with django_capture_on_commit_callbacks():
        message = message_send(
            kind="other", subject="Quiet words", body="Only for the outbox's readers",
            recipients=[Recipient(channel=email_channel(), address="a@example.com")],
        )  # fmt: skip
    client.force_login(staff_user)
    for name, args in [
        ("admin:comms_message_changelist", []),
        ("admin:comms_message_change", [message.pk]),
        ("admin:comms_delivery_changelist", []),
        ("admin:comms_delivery_change", [message.deliveries.get().pk]),
    ]:
        response = client.get(reverse(name, args=args))
        assert response.status_code in (302, 403), name
        assert "Only for the outbox" not in response.content.decode()
    # Channels stay with Django's own model permissions.
    assert client.get(reverse("admin:comms_channel_changelist")).status_code == 200

    staff_user.user_permissions.add(Permission.objects.get(codename="view_outbox"))
    client.force_login(staff_user)
    assert "Only for the outbox" in client.get(reverse("admin:comms_message_change", args=[message.pk])).text
