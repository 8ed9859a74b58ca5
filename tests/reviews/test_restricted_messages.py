"""What leaves the portal about a restricted incident's review: only "a restricted incident needs you"
and the link (issue 13), never its title, in the outbox row, the delivered e-mail and the calendar file."""

from datetime import date, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from comms.models import Message
from comms.services import deliveries_send
from comms.transports import webhook_payload
from incidents.services import incident_change_status, incident_declare
from reviews.models import Review
from reviews.services import follow_up_create, review_schedule_meeting, review_start
from reviews.services.reminders import reminders_send
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TITLE = "Token leaked in payroll export"
FOLLOW_UP = "Rotate the payroll signing key"


def _review(*, security: bool):
    owner = UserFactory(email="owner@example.com")
    incident = incident_declare(title=TITLE, severity=3, declared_by=owner, is_security=security)
    incident_change_status(incident=incident, status="resolved", by=owner)
    return review_start(incident=incident, by=owner), owner


def _noon(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time())) + timedelta(hours=12)


def _every_message(review: Review, owner) -> list[Message]:
    """Each review message of the beat and of scheduling, for one review (all five kinds)."""
    follow_up = follow_up_create(
        incident=review.incident,
        by=owner,
        title=FOLLOW_UP,
        owner=owner,
        due_on=timezone.localdate() - timedelta(days=1),
    )
    meeting_at = timezone.now() + timedelta(hours=20)
    review_schedule_meeting(review=review, by=owner, at=meeting_at, location="Room 4")
    due = review.due_on
    assert reminders_send(now=_noon(due - timedelta(days=1)))["review_due_soon"] == 1
    assert reminders_send(now=_noon(due + timedelta(days=1)))["review_overdue"] == 1
    assert reminders_send()["meeting"] == 1
    assert reminders_send()["follow_up_overdue"] == 0  # sent by the first beat above
    keys = [
        f"review:invite:{review.pk}:1",
        f"review:meeting:{review.pk}:1",
        f"review:due-soon:{review.pk}:{due}",
        f"review:overdue:{review.pk}:{due}",
        f"follow-up:overdue:{follow_up.pk}:{follow_up.due_on}",
    ]
    messages = [Message.objects.get(dedup_key=key) for key in keys]
    assert all(m.deliveries.filter(user=owner).exists() for m in messages)
    return messages


def _delivered_mail(messages: list[Message]) -> list:
    mail.outbox.clear()
    ids = [d.pk for m in messages for d in m.deliveries.filter(channel__kind="email")]
    assert len(ids) == len(messages)
    deliveries_send(delivery_ids=ids)
    assert len(mail.outbox) == len(messages)
    return mail.outbox


def _everything_said(email) -> str:
    parts = [email.subject, email.body]
    parts += [str(content) for _, content, _ in getattr(email, "attachments", [])]
    parts += [str(content) for content, _ in getattr(email, "alternatives", [])]
    return "\n".join(parts)


def test_a_restricted_incidents_review_messages_say_only_that_it_needs_you_and_the_link():
    review, owner = _review(security=True)
    messages = _every_message(review, owner)
    review_url = review.get_absolute_url()
    for message in messages:
        said = f"{message.subject}\n{message.body}\n{message.context}"
        assert TITLE not in said and FOLLOW_UP not in said, message.dedup_key
        assert message.subject == f"[{review.incident.reference}] A restricted incident needs you"
        assert "A restricted incident needs you." in message.body
        assert review.incident.get_absolute_url() in message.body  # the room's link
    follow_up_message = messages[-1]
    assert "/follow-ups/" in follow_up_message.body
    assert all(review_url in m.body for m in messages[:4])
    for email in _delivered_mail(messages):
        said = _everything_said(email)
        assert TITLE not in said and FOLLOW_UP not in said
        assert "A restricted incident needs you" in email.subject
    invitation = messages[0]
    calendar = invitation.context["attachments"][0]["content"]
    assert "BEGIN:VEVENT" in calendar and TITLE not in calendar.replace("\r\n ", "")


def test_an_ordinary_incidents_review_messages_name_it():
    review, owner = _review(security=False)
    messages = _every_message(review, owner)
    for message in messages[:4]:
        assert TITLE in message.subject or TITLE in message.body, message.dedup_key
    assert FOLLOW_UP in messages[-1].subject
    calendar = messages[0].context["attachments"][0]["content"]
    assert TITLE in calendar.replace("\r\n ", "")


def test_a_webhooks_envelope_leaves_out_a_restricted_incidents_title():
    review, owner = _review(security=True)
    message = _every_message(review, owner)[0]
    delivery = message.deliveries.first()
    assert webhook_payload(delivery)["incident"]["title"] == ""
    assert webhook_payload(delivery)["incident"]["reference"] == review.incident.reference
    ordinary, owner = _review(security=False)
    delivery = _every_message(ordinary, owner)[0].deliveries.first()
    assert webhook_payload(delivery)["incident"]["title"] == TITLE
