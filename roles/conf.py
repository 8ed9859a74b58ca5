"""Tunables of the people side, read from Django settings with sensible defaults.

Each is a plain setting so that a deployment (or a test) can change it:

- ROLES_PAGE_ACK_MAX_AGE_SECONDS: how long an acknowledge link works (default 24 h).
- ROLES_PERSON_ESCALATION_MINUTES: a page to one person is marked unanswered after this (default 5).
- ROLES_EXECUTIVE_SUMMARY_MINUTES: {severity: minutes} between executive summaries (default SEV-1/2: 30).
- ROLES_PUBLIC_UPDATE_OVERDUE_MINUTES: {severity: minutes} without a public update (default SEV-1/2: 30).
- ROLES_CHECKUP_HOURS: remind the IC to regroup every this many hours an incident is open (default 4).
- ROLES_HANDOVER_LEAD_MINUTES: prompt this long before the working day ends (default 15).
- ROLES_HANDOVER_WINDOW_HOURS: still prompt this long after it ended (default 8).
"""

from datetime import timedelta

from django.conf import settings

DEFAULT_EXECUTIVE_SUMMARY_MINUTES = {1: 30, 2: 30}
DEFAULT_PUBLIC_UPDATE_OVERDUE_MINUTES = {1: 30, 2: 30}


def page_ack_max_age() -> int:
    return int(getattr(settings, "ROLES_PAGE_ACK_MAX_AGE_SECONDS", 24 * 3600))


def person_escalation_minutes() -> int:
    return int(getattr(settings, "ROLES_PERSON_ESCALATION_MINUTES", 5))


def executive_summary_minutes(severity: int) -> int | None:
    table = getattr(settings, "ROLES_EXECUTIVE_SUMMARY_MINUTES", DEFAULT_EXECUTIVE_SUMMARY_MINUTES)
    return table.get(int(severity))


def public_update_minutes(severity: int) -> int | None:
    table = getattr(settings, "ROLES_PUBLIC_UPDATE_OVERDUE_MINUTES", DEFAULT_PUBLIC_UPDATE_OVERDUE_MINUTES)
    return table.get(int(severity))


def checkup_hours() -> int:
    return int(getattr(settings, "ROLES_CHECKUP_HOURS", 4))


def handover_lead() -> timedelta:
    return timedelta(minutes=int(getattr(settings, "ROLES_HANDOVER_LEAD_MINUTES", 15)))


def handover_window() -> timedelta:
    return timedelta(hours=int(getattr(settings, "ROLES_HANDOVER_WINDOW_HOURS", 8)))
