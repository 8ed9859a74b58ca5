"""Every reminder goes out once through the outbox, and not again on the next beat."""

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from comms.models import Message
from incidents.services import incident_change_status, incident_declare, participant_add
from reviews.models import FollowUp, Review
from reviews.services import follow_up_create, review_start
from reviews.services.reminders import reminders_send
from roles.models import Team
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _resolved(user, **kwargs):
    incident = incident_declare(title="Slow", severity=3, declared_by=user, **kwargs)
    incident_change_status(incident=incident, status="resolved", by=user)
    return incident


def _noon(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time())) + timedelta(hours=12)


def test_review_due_soon_then_overdue_each_once(user):
    review = review_start(incident=_resolved(user), by=user)
    due = review.due_on
    assert reminders_send(now=_noon(due - timedelta(days=10)))["review_due_soon"] == 0
    assert reminders_send(now=_noon(due - timedelta(days=1)))["review_due_soon"] == 1
    assert reminders_send(now=_noon(due - timedelta(days=1)))["review_due_soon"] == 0
    assert reminders_send(now=_noon(due))["review_due_soon"] == 0  # same due date: sent already
    assert reminders_send(now=_noon(due + timedelta(days=1)))["review_overdue"] == 1
    assert reminders_send(now=_noon(due + timedelta(days=2)))["review_overdue"] == 0
    keys = set(Message.objects.filter(kind="reminder").values_list("dedup_key", flat=True))
    assert keys == {f"review:due-soon:{review.pk}:{due}", f"review:overdue:{review.pk}:{due}"}


def test_a_published_review_is_not_reminded(user):
    review = review_start(incident=_resolved(user), by=user)
    Review.objects.filter(pk=review.pk).update(state=Review.State.PUBLISHED)
    assert reminders_send(now=_noon(review.due_on + timedelta(days=3)))["review_overdue"] == 0


def test_meeting_reminder_the_day_before_once(user):
    review = review_start(incident=_resolved(user), by=user)
    meeting = timezone.now() + timedelta(days=3)
    Review.objects.filter(pk=review.pk).update(meeting_at=meeting, meeting_sequence=1)
    review.meeting_attendees.set([user])
    assert reminders_send(now=meeting - timedelta(hours=30))["meeting"] == 0
    assert reminders_send(now=meeting - timedelta(hours=20))["meeting"] == 1
    assert reminders_send(now=meeting - timedelta(hours=19))["meeting"] == 0


def test_follow_up_overdue_once_to_its_owner(user):
    incident = _resolved(user)
    owner = UserFactory()
    follow_up = follow_up_create(
        incident=incident,
        by=user,
        title="Add the alert",
        owner=owner,
        due_on=timezone.localdate() - timedelta(days=1),
    )
    assert reminders_send()["follow_up_overdue"] == 1
    assert reminders_send()["follow_up_overdue"] == 0
    message = Message.objects.get(dedup_key=f"follow-up:overdue:{follow_up.pk}:{follow_up.due_on}")
    assert {d.user for d in message.deliveries.all()} == {owner}
    FollowUp.objects.filter(pk=follow_up.pk).update(state=FollowUp.State.DONE)
    assert reminders_send()["follow_up_overdue"] == 0


def test_weekly_digest_per_team_once_a_week_without_restricted_incidents(user, settings):
    team = Team.objects.create(name="Payments")
    owner = UserFactory()
    team.members.add(owner)
    follow_up_create(incident=_resolved(user), by=user, title="Visible work", owner=owner)
    secret = _resolved(user, is_security=True)
    participant_add(incident=secret, user=owner, by=user)
    follow_up_create(incident=secret, by=user, title="Secret work", owner=owner)
    monday = timezone.localdate() - timedelta(days=timezone.localdate().weekday())
    settings.REVIEWS_DIGEST_WEEKDAY = 0
    assert reminders_send(now=_noon(monday))["digest"] == 1
    assert reminders_send(now=_noon(monday))["digest"] == 0
    assert reminders_send(now=_noon(monday + timedelta(days=1)))["digest"] == 0  # not the digest's day
    digest = Message.objects.get(dedup_key__startswith=f"follow-up:digest:{team.pk}:")
    assert "Visible work" in digest.body and "Secret work" not in digest.body
