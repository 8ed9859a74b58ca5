"""The beat's reminders after incidents, through the comms outbox; each is sent once (its dedup key).

- review due soon (REVIEWS_DUE_SOON_DAYS before) and review overdue: to the review's owner;
- review meeting tomorrow (REVIEWS_MEETING_REMINDER_HOURS before): to the attendees;
- follow-up overdue: to its owner;
- weekly digest of open and overdue follow-ups: to each team whose members own some,
  on REVIEWS_DIGEST_WEEKDAY (once per ISO week). A restricted incident's follow-ups
  are left out of the digest, which the whole team reads; their owners still get
  their own overdue reminders.

About a restricted incident a reminder says only what roles' message_about()
allows (a restricted incident needs you, and the link): never its title.

A key names what the reminder is about and the date it concerns, so a re-run of
the beat (or two beats at once) sends nothing twice, and a moved due date or
meeting is reminded of again.
"""

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from comms.models import Message
from comms.services import CommsError, message_send, recipients_for_user, recipients_split
from incidents.models import Incident
from incidents.selectors import who_can_see
from reviews.models import FollowUp, Review
from roles.models import Team
from roles.services.common import message_about

logger = logging.getLogger(__name__)


def _subject(incident: Incident, text: str) -> str:
    return f"[{incident.reference}] {text}"


def _send(
    *,
    key: str,
    to: list[AbstractBaseUser],
    subject: str,
    body: str,
    incident: Incident | None,
    link: str = "",
) -> int:
    """Send once per key; about a restricted incident, only what message_about() allows, and `link`."""
    if not to or Message.objects.filter(dedup_key=key).exists():
        return 0
    if incident is not None:
        to = who_can_see(incident=incident, people=to)
        subject, body, _ = message_about(
            incident, subject=subject, body=body, restricted_lines=[link] if link else ()
        )
    recipients, _refused = recipients_split([r for person in to for r in recipients_for_user(person)])
    if not recipients:
        return 0
    try:
        with transaction.atomic():
            message_send(
                kind="reminder",
                subject=subject,
                body=body,
                recipients=recipients,
                incident=incident,
                dedup_key=key,
            )
    except CommsError:
        logger.warning("Reminder %s not sent", key, exc_info=True)
        return 0
    return 1


def _url(path: str) -> str:
    return settings.SITE_URL + path


def reminders_send(*, now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    today = timezone.localdate(now)
    counts = {"review_due_soon": 0, "review_overdue": 0, "meeting": 0, "follow_up_overdue": 0, "digest": 0}

    soon = today + timedelta(days=settings.REVIEWS_DUE_SOON_DAYS)
    reviews = (
        Review.objects.exclude(state=Review.State.PUBLISHED)
        .filter(due_on__lte=soon, owner__isnull=False, owner__is_active=True)
        .select_related("incident", "owner")
    )
    for review in reviews:
        incident = review.incident
        url = _url(review.get_absolute_url())
        if review.due_on < today:
            counts["review_overdue"] += _send(
                key=f"review:overdue:{review.pk}:{review.due_on}",
                to=[review.owner],
                subject=_subject(incident, f"Review overdue since {review.due_on:%b %-d}: {incident.title}"),
                body=f"The post-incident review of {incident.reference} was due on "
                f"{review.due_on:%A %B %-d}. Finish and publish it, or move its due date: {url}",
                incident=incident,
                link=f"The review: {url}",
            )
        else:
            counts["review_due_soon"] += _send(
                key=f"review:due-soon:{review.pk}:{review.due_on}",
                to=[review.owner],
                subject=_subject(incident, f"Review due {review.due_on:%b %-d}: {incident.title}"),
                body=f"The post-incident review of {incident.reference} is due on "
                f"{review.due_on:%A %B %-d}. {url}",
                incident=incident,
                link=f"The review: {url}",
            )

    ahead = now + timedelta(hours=settings.REVIEWS_MEETING_REMINDER_HOURS)
    meetings = Review.objects.filter(meeting_at__gt=now, meeting_at__lte=ahead).select_related("incident")
    for review in meetings.prefetch_related("meeting_attendees"):
        incident = review.incident
        local = timezone.localtime(review.meeting_at)
        url = _url(review.get_absolute_url())
        counts["meeting"] += _send(
            key=f"review:meeting:{review.pk}:{review.meeting_sequence}",
            to=[p for p in review.meeting_attendees.all() if p.is_active],
            subject=_subject(incident, f"Review meeting {local:%a %b %-d, %H:%M}: {incident.title}"),
            body=f"Reminder: the blameless review of {incident.reference} meets on {local:%A %B %-d at %H:%M}"
            + (f", {review.meeting_location}" if review.meeting_location else "")
            + f". Read the review first: {url}",
            incident=incident,
            link=f"The review: {url}",
        )

    overdue = (
        FollowUp.objects.filter(state__in=FollowUp.OPEN_STATES, due_on__lt=today, owner__isnull=False)
        .filter(owner__is_active=True)
        .select_related("incident", "owner")
    )
    for follow_up in overdue:
        incident = follow_up.incident
        url = _url(follow_up.get_absolute_url())
        counts["follow_up_overdue"] += _send(
            key=f"follow-up:overdue:{follow_up.pk}:{follow_up.due_on}",
            to=[follow_up.owner],
            subject=_subject(incident, f"Follow-up overdue: {follow_up.title}"),
            body=f"“{follow_up.title}” (from {incident.reference}) was due on {follow_up.due_on:%A %B %-d}. "
            f"Do it, move its date, or say why it won't be done: {url}",
            incident=incident,
            link=f"The follow-up: {url}",
        )

    if today.weekday() == settings.REVIEWS_DIGEST_WEEKDAY:
        counts["digest"] += digests_send(today=today)
    return counts


def digests_send(*, today: date) -> int:
    """Each team: its members' open follow-ups, overdue first (ordinary incidents only)."""
    year, week, _ = today.isocalendar()
    open_ones = (
        FollowUp.objects.filter(
            state__in=FollowUp.OPEN_STATES, owner__isnull=False, incident__is_security=False
        )
        .select_related("incident", "owner")
        .order_by("due_on", "priority", "pk")
    )
    by_owner: dict[int, list[FollowUp]] = defaultdict(list)
    for follow_up in open_ones:
        by_owner[follow_up.owner_id].append(follow_up)
    sent = 0
    for team in Team.objects.prefetch_related("members"):
        members = [m for m in team.members.all() if m.is_active]
        rows = [f for m in members for f in by_owner.get(m.pk, [])]
        if not rows:
            continue
        rows.sort(key=lambda f: (not f.is_overdue, f.due_on or date.max, f.priority, f.pk))
        overdue = sum(1 for f in rows if f.is_overdue)
        lines = [
            f"{len(rows)} open follow-up{'s' if len(rows) != 1 else ''} owned by {team.name}, "
            f"{overdue} overdue:",
            "",
        ]
        for f in rows[:50]:
            owner = f.owner.get_full_name() or f.owner.get_username()
            due = f"due {f.due_on:%b %-d}" if f.due_on else "no due date"
            flag = " — OVERDUE" if f.is_overdue else ""
            lines.append(f"- {f.incident.reference} {f.title} ({owner}, {due}){flag}")
        if len(rows) > 50:
            lines.append(f"- … and {len(rows) - 50} more")
        lines += ["", f"All of them: {_url('/follow-ups/')}?view=team"]
        sent += _send(
            key=f"follow-up:digest:{team.pk}:{year}-W{week:02d}",
            to=members,
            subject=f"{team.name}: {len(rows)} open follow-ups, {overdue} overdue",
            body="\n".join(lines),
            incident=None,
        )
    return sent
