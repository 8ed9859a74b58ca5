"""Periodic reminders on open incidents: executive summary due, public update overdue, long-incident check-up.

Run by the beat schedule (roles.tasks.reminders_send); each reminder is sent
at most once per period, keyed by its dedup key.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from comms.models import Message
from incidents.models import Incident, TimelineEntry
from roles.models import ExecutiveSummary, IncidentRole
from roles.selectors import current_role_holders
from roles.services.common import RoleError, room_url, send_to, subject_for

logger = logging.getLogger(__name__)


def _period(anchor: datetime, every: timedelta, now: datetime) -> int:
    """How many whole periods have passed since the anchor (0 = not due yet)."""
    if now < anchor:
        return 0
    return int((now - anchor) / every)


def _holder_or_ic(holders: dict[str, AbstractBaseUser], role: str) -> AbstractBaseUser | None:
    """The holder of the role, or the IC when nobody holds it (the IC does every unfilled job)."""
    return holders.get(role) or holders.get(IncidentRole.INCIDENT_COMMANDER)


def reminders_send(*, now: datetime | None = None) -> dict[str, int]:
    """Executive summary due, public update overdue, long-incident check-up. Idempotent per period."""

    now = now or timezone.now()
    incidents = list(Incident.objects.filter(status__in=Incident.OPEN_STATUSES))
    holders_by_incident = current_role_holders(i.pk for i in incidents)
    last_summary = {
        incident_id: sent_at
        for incident_id, sent_at in ExecutiveSummary.objects.filter(incident__in=incidents)
        .order_by("incident_id", "sent_at")
        .values_list("incident_id", "sent_at")
    }
    last_public = {
        incident_id: occurred_at
        for incident_id, occurred_at in TimelineEntry.objects.filter(
            incident__in=incidents, kind=TimelineEntry.Kind.PUBLIC_UPDATE, struck_at__isnull=True
        )
        .order_by("incident_id", "occurred_at")
        .values_list("incident_id", "occurred_at")
    }
    counts = {"executive_summary": 0, "public_update": 0, "checkup": 0}
    for incident in incidents:
        holders = {a.role: a.user for a in holders_by_incident.get(incident.pk, [])}
        room = room_url(incident)

        every = settings.ROLES_EXECUTIVE_SUMMARY_MINUTES.get(incident.severity)
        if every:
            # The cadence starts when the incident became major (declared so, or raised).
            anchor = last_summary.get(incident.pk, incident.major_since or incident.declared_at)
            period = _period(anchor, timedelta(minutes=every), now)
            to = _holder_or_ic(holders, IncidentRole.INTERNAL_LIAISON)
            if period and to is not None:
                counts["executive_summary"] += _remind(
                    incident=incident,
                    to=to,
                    key=f"reminder:exec:{incident.pk}:{anchor.timestamp():.0f}:{period}",
                    subject=subject_for(incident, "Executive summary due"),
                    body=f"No executive summary for {every * period} minutes. Send the stakeholders a short "
                    f"summary of the current status from the room: {room}",
                )

        overdue = settings.ROLES_PUBLIC_UPDATE_OVERDUE_MINUTES.get(incident.severity)
        if overdue:
            anchor = last_public.get(incident.pk, incident.major_since or incident.declared_at)
            period = _period(anchor, timedelta(minutes=overdue), now)
            to = _holder_or_ic(holders, IncidentRole.CUSTOMER_LIAISON)
            if period and to is not None:
                counts["public_update"] += _remind(
                    incident=incident,
                    to=to,
                    key=f"reminder:public:{incident.pk}:{anchor.timestamp():.0f}:{period}",
                    subject=subject_for(incident, "Public update overdue"),
                    body=f"No public update for {overdue * period} minutes. If in doubt, tweet it out: "
                    f"post an update on the status page. {room}",
                )

        hours = settings.ROLES_CHECKUP_HOURS
        if hours:
            period = _period(incident.declared_at, timedelta(hours=hours), now)
            to = holders.get(IncidentRole.INCIDENT_COMMANDER) or holders.get(IncidentRole.ON_CALL)
            if period and to is not None:
                counts["checkup"] += _remind(
                    incident=incident,
                    to=to,
                    key=f"reminder:checkup:{incident.pk}:{period}",
                    subject=subject_for(incident, f"Open for {hours * period} hours: time to regroup"),
                    body=f"{incident.reference} has been open for more than {hours * period} hours. Regroup: "
                    "is the severity right, are the right people on it, does anyone need to hand over? "
                    f"{room}",
                )
    return counts


def _remind(*, incident: Incident, to: AbstractBaseUser, key: str, subject: str, body: str) -> int:
    if Message.objects.filter(dedup_key=key).exists():
        return 0
    try:
        with transaction.atomic():
            send_to(kind="reminder", subject=subject, body=body, to=[to], incident=incident, dedup_key=key)
    except RoleError:
        logger.warning("Reminder %s not sent", key, exc_info=True)
        return 0
    return 1
