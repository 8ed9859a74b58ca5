"""The review meeting's calendar file (RFC 5545, written with `icalendar`).

One VEVENT per review, with a stable UID and a SEQUENCE bumped at every
rescheduling, so that calendar clients replace the event rather than add one.
"""

from datetime import timedelta
from urllib.parse import urlparse

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from reviews.models import Review


def _host() -> str:
    return urlparse(settings.SITE_URL).hostname or "localhost"


def meeting_uid(review: Review) -> str:
    return f"review-{review.pk}@{_host()}"


def meeting_summary(review: Review) -> tuple[str, str]:
    """The event's summary and description as written; a restricted incident's pass through
    roles' message_about() first (reviews/services/reviews.py), as the e-mail does."""
    incident = review.incident
    url = settings.SITE_URL + review.get_absolute_url()
    return (
        f"Post-incident review: {incident.reference} {incident.title}",
        f"Blameless review of {incident.reference} ({incident.severity_label}).\n"
        f"Read the review before the meeting: {url}",
    )


def meeting_calendar(
    review: Review, attendees: list[AbstractBaseUser], *, summary: str, description: str
) -> str:
    url = settings.SITE_URL + review.get_absolute_url()
    calendar = Calendar()
    calendar.add("prodid", "-//Coolhead//Post-incident review//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    event = Event()
    event.add("uid", meeting_uid(review))
    event.add("sequence", review.meeting_sequence)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", review.meeting_at)
    event.add("dtend", review.meeting_at + timedelta(minutes=review.meeting_minutes))
    event.add("summary", summary)
    event.add("description", description)
    event.add("url", url)
    if review.meeting_location:
        event.add("location", review.meeting_location)
    organizer = vCalAddress(
        f"mailto:{settings.DEFAULT_FROM_EMAIL.rpartition('<')[2].rstrip('>') or 'coolhead'}"
    )
    organizer.params["cn"] = vText("Coolhead")
    event.add("organizer", organizer)
    for person in attendees:
        if not person.email:
            continue
        attendee = vCalAddress(f"mailto:{person.email}")
        attendee.params["cn"] = vText(person.get_full_name() or person.get_username())
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = vText("NEEDS-ACTION")
        attendee.params["rsvp"] = vText("TRUE")
        event.add("attendee", attendee, encode=0)
    calendar.add_component(event)
    return calendar.to_ical().decode()
