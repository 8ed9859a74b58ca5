"""message_send: what it writes, when it enqueues, and what it refuses."""

import pytest
from django.core import mail
from django.db import transaction

from comms.models import Channel, Delivery, Message
from comms.selectors import email_channel, in_app_channel
from comms.services import CommsError, Recipient, message_send, recipients_for_user
from tests.factories import UserFactory


def _enqueued(callbacks) -> list:
    """The callbacks that hand deliveries to the worker (not the bell's live publish, core/live.py)."""
    return [callback for callback in callbacks if "publish_on_commit" not in callback.__qualname__]


def test_it_writes_one_message_and_one_delivery_per_recipient(
    responder, incident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = message_send(
            kind="page",
            subject="You are paged for INC",
            body="**Checkout** fails",
            recipients=recipients_for_user(responder),
            incident=incident,
        )
    assert len(_enqueued(callbacks)) == 1
    assert message.incident == incident
    kinds = sorted(message.deliveries.values_list("channel__kind", "state"))
    assert kinds == [("email", "sent"), ("in_app", "sent")]
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["rita@example.com"]
    assert sent.subject == "You are paged for INC"
    assert sent.body == "Checkout fails"
    assert sent.alternatives[0].content == "<p><strong>Checkout</strong> fails</p>"


def test_it_enqueues_only_after_the_callers_transaction_commits(
    responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message_send(kind="other", subject="Hi", body="x", recipients=recipients_for_user(responder))
        assert mail.outbox == []
    assert len(_enqueued(callbacks)) == 1
    assert Delivery.objects.get(channel__kind="email").state == Delivery.State.PENDING


def test_a_caller_that_rolls_back_sends_nothing(responder, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                message_send(kind="other", subject="Hi", body="x", recipients=recipients_for_user(responder))
                raise RuntimeError("caller failed after sending")
    assert Message.objects.count() == 0
    assert mail.outbox == []


def test_the_same_dedup_key_twice_returns_the_first_message_and_sends_nothing_new(
    responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = message_send(
            kind="reminder",
            subject="Update due",
            body="x",
            recipients=recipients_for_user(responder),
            dedup_key="reminder:1:liaison:2026-11-23T10:30",
        )
        second = message_send(
            kind="reminder",
            subject="Update due",
            body="x",
            recipients=recipients_for_user(responder),
            dedup_key="reminder:1:liaison:2026-11-23T10:30",
        )
    assert second.pk == first.pk
    assert Message.objects.count() == 1
    assert Delivery.objects.count() == 2
    assert len(mail.outbox) == 1


def test_the_same_recipient_twice_gets_it_once(responder, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message_send(
            kind="other",
            subject="Hi",
            body="x",
            recipients=[Recipient(channel=email_channel(), address="a@example.com")] * 2
            + [Recipient(channel=email_channel(), address="A@example.com")],
        )
    assert Delivery.objects.count() == 1
    assert len(mail.outbox) == 1


def test_extra_headers_reach_the_email(django_capture_on_commit_callbacks, db):
    with django_capture_on_commit_callbacks(execute=True):
        message_send(
            kind="public_update",
            subject="Investigating",
            body="We are looking into it.",
            recipients=[Recipient(channel=email_channel(), address="sub@example.com")],
            headers={"List-Unsubscribe": "<https://status.example.com/u/abc>"},
        )
    email = mail.outbox[0].message()
    assert email["List-Unsubscribe"] == "<https://status.example.com/u/abc>"
    assert email["Message-ID"].endswith("@coolhead.invalid>")


def test_in_app_notifications_are_delivered_without_a_worker(responder, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message_send(
            kind="handover_prompt",
            subject="Time to hand over",
            body="x",
            recipients=[Recipient(channel=in_app_channel(), user=responder)],
        )
    # Nothing for a worker; the bell is told on commit (server-sent events).
    assert _enqueued(callbacks) == []
    assert len(callbacks) == 1
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.SENT
    assert delivery.sent_at is not None


def test_system_channels_are_created_once(db):
    assert email_channel().pk == email_channel().pk
    assert in_app_channel().kind == Channel.Kind.IN_APP
    assert Channel.objects.count() == 2


def test_recipients_for_user_without_an_email_is_in_app_only(db):
    user = UserFactory(email="")
    recipients = recipients_for_user(user)
    assert [r.channel.kind for r in recipients] == [Channel.Kind.IN_APP]


# --- Bad input: refused with a readable error, nothing written -------------------------


def _bad(**overrides):
    return overrides


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"kind": "carrier_pigeon"}, "not a kind of message"),
        ({"subject": "   "}, "needs a subject"),
        ({"body": "x" * 50001}, "50,000"),
        ({"recipients": []}, "at least one recipient"),
        ({"recipients": ["someone@example.com"]}, "is not a Recipient"),
        ({"headers": {"Bad Header": "x"}}, "not a valid e-mail header name"),
        ({"headers": {"X-Evil": "a\r\nBcc: all@example.com"}}, "one line"),
        ({"context": {"when": object()}}, "JSON"),
        ({"dedup_key": ""}, "dedup key"),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(responder, overrides, error):
    args = {
        "kind": "other",
        "subject": "Hello",
        "body": "Body",
        "recipients": recipients_for_user(responder),
    } | overrides
    with pytest.raises(CommsError, match=error):
        message_send(**args)
    assert Message.objects.count() == 0
    assert Delivery.objects.count() == 0


def test_unknown_or_unusable_recipients_are_refused(responder, signed_channel):
    unsaved = Channel(name="ghost", slug="ghost", kind=Channel.Kind.EMAIL)
    off = Channel.objects.create(
        name="Off", slug="off", kind=Channel.Kind.SLACK, url="https://x.example/h", is_active=False
    )
    inactive = UserFactory(is_active=False)
    cases = [
        (Recipient(channel=unsaved, address="a@example.com"), "saved channel"),
        (Recipient(channel=off), "switched off"),
        (Recipient(channel=email_channel(), address="not-an-address"), "not a valid e-mail address"),
        (Recipient(channel=email_channel()), "needs an address"),
        (Recipient(channel=in_app_channel()), "needs the person"),
        (Recipient(channel=in_app_channel(), user=inactive), "no longer active"),
        (Recipient(channel=signed_channel, address="ftp://example.com/x"), "not an http"),
    ]
    for recipient, error in cases:
        with pytest.raises(CommsError, match=error):
            # One good recipient first: a bad one later still writes nothing.
            message_send(
                kind="other",
                subject="Hi",
                body="x",
                recipients=[Recipient(channel=in_app_channel(), user=responder), recipient],
            )
    assert Message.objects.count() == 0
    assert Delivery.objects.count() == 0
