"""Every outbound subject leaves on one line; a message the outbox refuses is recorded, not only logged."""

import pytest
from django.core import mail

from comms.models import Channel, Delivery, Message
from comms.selectors import email_channel
from comms.services import (
    CommsError,
    Recipient,
    delivery_resend,
    message_refused,
    message_send,
    message_send_or_record_refusal,
    recipients_for_user,
)
from core.text import one_line
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db

BREAKS = ["\n", "\r\n", "\r", "\u2028", "\u2029", "\v", "\f", "\x85", "\x1c", "\x1e", "\t", "\x00", "\x7f"]


@pytest.mark.parametrize("brk", BREAKS)
def test_one_line_turns_every_break_and_control_character_into_one_space(brk):
    assert one_line(f"  Checkout{brk}{brk}fails  ") == "Checkout fails"


def test_one_line_cuts_with_an_ellipsis():
    assert one_line("x" * 400, 300) == "x" * 299 + "…"
    assert one_line("short", 300) == "short"


@pytest.mark.parametrize("brk", BREAKS)
def test_the_outbox_makes_a_subject_one_line_and_it_is_delivered(
    brk, django_capture_on_commit_callbacks, settings
):
    person = UserFactory(email="ann@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(
            kind="other",
            subject=f"[INC-7 SEV-2] Checkout{brk}fails",
            body="Body",
            recipients=recipients_for_user(person),
        )
    assert message.subject == "[INC-7 SEV-2] Checkout fails"
    # The e-mail went out through the real mail backend (Python's e-mail package refuses
    # a header with any line break in it, U+2028 included).
    email = Delivery.objects.get(message=message, channel__kind=Channel.Kind.EMAIL)
    assert email.state == Delivery.State.SENT, email.last_error
    assert [m.subject for m in mail.outbox] == ["[INC-7 SEV-2] Checkout fails"]


def test_a_long_subject_is_cut_not_refused(django_capture_on_commit_callbacks):
    person = UserFactory()
    message = message_send(kind="other", subject="y" * 500, body="b", recipients=recipients_for_user(person))
    assert len(message.subject) == 300 and message.subject.endswith("…")


def test_a_refused_message_is_a_dead_message_in_the_outbox_with_the_reason():
    incident = IncidentFactory()
    off = Channel.objects.create(
        name="Off", slug="off", kind=Channel.Kind.SLACK, url="https://hooks.example.com/x", is_active=False
    )
    with pytest.raises(CommsError, match="switched off"):
        message_send_or_record_refusal(
            kind="webhook_event",
            subject="INC declared",
            body="secret link https://example.com/unsubscribe/abc",
            recipients=[Recipient(channel=off)],
            incident=incident,
            dedup_key="hook:1:2:declared",
        )
    message = Message.objects.get()
    assert message.incident == incident and message.subject == "INC declared"
    assert "secret link" not in message.body  # only the reason is kept
    delivery = message.deliveries.get()
    assert delivery.state == Delivery.State.DEAD and delivery.channel == off
    assert "switched off" in delivery.last_error
    # A retry of the same work records it once.
    with pytest.raises(CommsError):
        message_send_or_record_refusal(
            kind="webhook_event",
            subject="INC declared",
            body="x",
            recipients=[Recipient(channel=off)],
            incident=incident,
            dedup_key="hook:1:2:declared",
        )
    assert Message.objects.count() == 1 and Delivery.objects.count() == 1
    # Nothing to send: resending it is refused, and it stays dead.
    with pytest.raises(CommsError, match="refused when it was written"):
        delivery_resend(delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.DEAD


def test_a_refusal_keeps_each_recipients_address():
    bad = Recipient(channel=email_channel(), address="not-an-address")
    message = message_refused(
        kind="public_update", subject="Hi\nthere", recipients=[bad], reason="bad address"
    )
    assert message.subject == "Hi there"
    assert list(message.deliveries.values_list("address", "state")) == [("not-an-address", "dead")]
