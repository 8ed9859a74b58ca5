"""What the reviews services share: their errors, dates, text checks, and the portal's timeline entry."""

from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from core import errors as core_errors
from incidents.models import Incident, TimelineEntry
from incidents.services import IncidentError, timeline_record


class ReviewError(IncidentError):
    """A change the rules do not allow; the message is meant for a person. Nothing was written."""


class NotAllowed(ReviewError, core_errors.NotAllowed):
    """The person asking may not do this (a 403 in the API)."""


def add_business_days(start: date, days: int) -> date:
    """`days` working days (Monday to Friday) after `start`."""
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def default_due_on(incident: Incident, *, today: date) -> date:
    """REVIEWS_DUE_BUSINESS_DAYS after the incident was resolved (or after today, for an open one)."""
    days = settings.REVIEWS_DUE_BUSINESS_DAYS.get(incident.severity, 10)
    resolved = incident.resolved_at
    start = resolved.astimezone(today_zone()).date() if resolved else today
    return add_business_days(start, days)


def today_zone():
    return timezone.get_default_timezone()


def one_line(text: str, limit: int, what: str) -> str:
    text = " ".join((text or "").split())
    if len(text) > limit:
        raise ReviewError(f"Keep {what} to {limit} characters.")
    return text


def long_text(text: str, limit: int, what: str) -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    if "\x00" in text:
        raise ReviewError(f"{what.capitalize()} cannot contain a NUL character.")
    if len(text) > limit:
        raise ReviewError(f"Keep {what} to {limit:,} characters.")
    return text


def record_entry(*, incident: Incident, body: str, by: AbstractBaseUser | None, data: dict) -> TimelineEntry:
    """The portal's note on the incident's timeline for what a reviews service did."""
    return timeline_record(incident=incident, kind=TimelineEntry.Kind.NOTE, body=body, author=by, data=data)


def person_name(user: AbstractBaseUser | None) -> str:
    if user is None:
        return "nobody"
    return user.get_full_name() or user.get_username()
