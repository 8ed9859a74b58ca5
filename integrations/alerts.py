"""Alert ingestion: monitoring events become incidents, exactly one per open alert group.

The sources (Alertmanager, PagerDuty Events v2) are parsed in their own modules
into calls of alert_trigger / alert_acknowledge / alert_resolve. The rules, as
PagerDuty documents them for dedup_key:

- a trigger with the key of an open group lands on that group's incident;
  otherwise it opens a new group and declares a new incident (in triage);
- acknowledge and resolve apply to the open group; for an unknown key, or a
  group that is resolved already, they change nothing;
- after a resolve, a trigger with the same key opens a new group and incident.

"Exactly one open group per key" is a partial unique constraint: two
concurrent triggers both try to insert, the database lets one win, and the
loser (inside a savepoint) rolls back its incident and re-reads the winner.
"""

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from incidents.models import Incident, Severity, TimelineEntry
from incidents.services import IncidentError, incident_change_status, incident_declare, timeline_record
from integrations.models import AlertGroup, AlertSettings
from roles.models import IncidentRole, Schedule, Service
from roles.services import page_send

logger = logging.getLogger(__name__)

MAX_DEDUP_KEY = 255
MAX_TITLE = 200
# Alertmanager alerts remembered per group, so that re-sends are not recorded twice.
SEEN_ALERTS_KEPT = 500


@dataclass(frozen=True)
class FiringAlert:
    """One alert of a notification: its identity and the text its timeline entry gets."""

    key: str  # fingerprint@startsAt (Alertmanager) — the same alert re-sent has the same key
    text: str
    occurred_at: datetime | None = None


@dataclass
class AlertOutcome:
    group: AlertGroup | None
    created: bool = False
    changed: bool = False
    duplicate: bool = False  # counted on the open group without reading it
    notes: list[str] = field(default_factory=list)


def alert_settings_for(service) -> AlertSettings:
    try:
        return service.alert_settings
    except AlertSettings.DoesNotExist:
        return AlertSettings(service=service)


def _open_group(service, dedup_key: str) -> AlertGroup | None:
    return (
        AlertGroup.objects.select_for_update()
        .select_related("incident")
        .filter(service=service, dedup_key=dedup_key, resolved_at__isnull=True)
        .first()
    )


def _close(group: AlertGroup, now: datetime) -> None:
    group.status = AlertGroup.Status.RESOLVED
    group.resolved_at = now
    group.last_event_at = now
    group.save(update_fields=["status", "resolved_at", "last_event_at"])


def _title(summary: str) -> str:
    title = " ".join(summary.split()) or "Alert"
    return title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1] + "…"


def _oncall_schedule(service):
    """The on-call roster of the service's team (not a role roster like the IC's), if it has one."""

    if not service.team_id:
        return None
    rosters = Schedule.objects.filter(team_id=service.team_id, role__in=["", IncidentRole.ON_CALL])
    return rosters.order_by("role", "pk").first()


def _page_on_call(*, incident: Incident, service, source_label: str) -> None:
    """Page whoever is on call for the service (its team's roster, else its owners) for a new
    alert incident; a failure to page is written down on the timeline, not raised."""

    message = f"{source_label}: {incident.title}"
    schedule = _oncall_schedule(service)
    try:
        if schedule is not None:
            try:
                with transaction.atomic():
                    page_send(incident=incident, by=None, schedule=schedule, message=message)
                return
            except IncidentError:
                pass  # an empty roster: the owners are the fallback
        with transaction.atomic():
            page_send(incident=incident, by=None, service=service, message=message)
    except IncidentError as error:
        timeline_record(
            incident=incident,
            kind=TimelineEntry.Kind.PAGE,
            body=f"Nobody was paged for this alert: {error}",
            author=None,
            data={"alert_page_failed": True},
        )


def alert_count_duplicate(
    *,
    dedup_key: str,
    summary: str | None = None,
    alert_keys: list[str] | None = None,
    service_id: int | None = None,
    integration_key: str | None = None,
) -> bool:
    """The common case of a burst or a re-send, in one statement: count the event on the open
    group of an open incident when that group has seen exactly this already (the same summary,
    or every one of these Alertmanager alerts). Returns False when there is anything to write
    down: the caller then takes the locked path.

    Written in SQL because it is the hot path of a burst: one UPDATE that also checks the
    service's integration key, instead of a key lookup and an ORM-built UPDATE.
    """

    if (summary is None) == (alert_keys is None) or (service_id is None) == (integration_key is None):
        raise ValueError("Give a summary or alert keys, and a service id or an integration key.")
    if alert_keys is not None and (not alert_keys or connection.vendor != "postgresql"):
        return False  # SQLite has no JSON containment: the locked path decides
    group, incident, service = AlertGroup._meta.db_table, Incident._meta.db_table, Service._meta.db_table
    statuses = list(Incident.OPEN_STATUSES)
    sql = [
        f"UPDATE {group} SET event_count = {group}.event_count + 1, last_event_at = %s",
        f"FROM {incident}, {service}",
        f"WHERE {incident}.id = {group}.incident_id AND {service}.id = {group}.service_id",
        f"AND {group}.dedup_key = %s AND {group}.resolved_at IS NULL",
        f"AND {incident}.status IN ({', '.join(['%s'] * len(statuses))})",
    ]
    params: list = [timezone.now(), dedup_key, *statuses]
    if service_id is not None:
        sql.append(f"AND {service}.id = %s")
        params.append(service_id)
    else:
        sql.append(f"AND {service}.integration_key = %s")
        params.append(integration_key)
    if summary is not None:
        sql.append(f"AND {group}.summary = %s")
        params.append(summary[:1024])
    else:
        sql.append(f"AND {group}.seen_alerts @> %s::jsonb")
        params.append(json.dumps(alert_keys))
    with connection.cursor() as cursor:
        cursor.execute(" ".join(sql), params)
        return cursor.rowcount == 1


def alert_trigger(
    *,
    service,
    source: str,
    dedup_key: str,
    summary: str,
    severity: int,
    details: str = "",
    alerts: list[FiringAlert] | None = None,
    data: dict | None = None,
) -> AlertOutcome:
    """A trigger (or a firing notification) for the service's alert group with this key."""
    if not dedup_key or len(dedup_key) > MAX_DEDUP_KEY:
        raise IncidentError(f"A dedup key is 1 to {MAX_DEDUP_KEY} characters.")
    counted = alert_count_duplicate(
        service_id=service.pk,
        dedup_key=dedup_key,
        summary=summary if alerts is None else None,
        alert_keys=[a.key for a in alerts] if alerts is not None else None,
    )
    if counted:
        return AlertOutcome(group=None, duplicate=True)
    return _alert_trigger(
        service=service,
        source=source,
        dedup_key=dedup_key,
        summary=summary,
        severity=severity,
        details=details,
        alerts=alerts,
        data=data,
    )


@transaction.atomic
def _alert_trigger(
    *,
    service,
    source: str,
    dedup_key: str,
    summary: str,
    severity: int,
    details: str,
    alerts: list[FiringAlert] | None,
    data: dict | None,
) -> AlertOutcome:
    now = timezone.now()
    source_label = AlertGroup.Source(source).label
    data = {"source": source, "dedup_key": dedup_key, **(data or {})}
    if connection.vendor == "postgresql":
        # Duplicates of one key queue here instead of each declaring an incident
        # that the unique constraint then throws away: less wasted work in a
        # burst. The constraint, not this lock, is what guarantees one incident.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"alert-group:{service.pk}:{dedup_key}"]
            )
    group = _open_group(service, dedup_key)
    if group is not None and not group.incident.is_open:
        # A person resolved or declined the incident: its alert group is over,
        # and this trigger starts a new one.
        _close(group, now)
        group = None

    created = False
    if group is None:
        try:
            with transaction.atomic():
                incident = incident_declare(
                    title=_title(summary),
                    severity=severity,
                    declared_by=None,
                    summary=details[:10000],
                    services=[service],
                )
                group = AlertGroup.objects.create(
                    service=service,
                    source=source,
                    dedup_key=dedup_key,
                    incident=incident,
                    summary=summary[:1024],
                    opened_at=now,
                    last_event_at=now,
                    seen_alerts=[a.key for a in (alerts or [])][-SEEN_ALERTS_KEPT:],
                )
                created = True
        except IntegrityError:
            # Another request opened the group first and has committed (the
            # insert waited for it): use the winner's group and incident.
            group = _open_group(service, dedup_key)
            if group is None:
                raise
    if created:
        if alerts:
            _record_firing(group=group, alerts=alerts, source_label=source_label, data=data, opened=True)
        else:
            body = f"Alert from {source_label} ({service}): {summary}"
            if details:
                body += f"\n\n{details}"
            timeline_record(
                incident=group.incident,
                kind=TimelineEntry.Kind.ALERT,
                body=body[:20000],
                author=None,
                data={**data, "event": "trigger", "opened_group": group.pk},
            )
        if alert_settings_for(service).page_on_call:
            _page_on_call(incident=group.incident, service=service, source_label=source_label)
        return AlertOutcome(group=group, created=True, changed=True)

    # A duplicate or a re-send: count it, and write down only what is new.
    AlertGroup.objects.filter(pk=group.pk).update(event_count=F("event_count") + 1, last_event_at=now)
    new_lines: list[str] = []
    if alerts is not None:
        seen = list(group.seen_alerts or [])
        fresh = [a for a in alerts if a.key not in seen]
        if fresh:
            new_lines = [a.text for a in fresh]
            group.seen_alerts = (seen + [a.key for a in fresh])[-SEEN_ALERTS_KEPT:]
            group.save(update_fields=["seen_alerts"])
            _record_firing(group=group, alerts=fresh, source_label=source_label, data=data, opened=False)
    elif summary[:1024] != group.summary:
        new_lines = [summary]
        group.summary = summary[:1024]
        group.save(update_fields=["summary"])
        timeline_record(
            incident=group.incident,
            kind=TimelineEntry.Kind.ALERT,
            body=f"Alert from {source_label}: {summary}"[:20000],
            author=None,
            data={**data, "event": "trigger"},
        )
    return AlertOutcome(group=group, changed=bool(new_lines))


# One timeline entry per firing alert; past this many in one notification, one entry says how many more.
MAX_ALERT_ENTRIES = 50


def _record_firing(
    *, group: AlertGroup, alerts: list[FiringAlert], source_label: str, data: dict, opened: bool
) -> None:
    for i, alert in enumerate(alerts[:MAX_ALERT_ENTRIES]):
        extra = {"opened_group": group.pk} if opened and i == 0 else {}
        timeline_record(
            incident=group.incident,
            kind=TimelineEntry.Kind.ALERT,
            body=f"Firing ({source_label}): {alert.text}",
            author=None,
            data={**data, "event": "trigger", "alert": alert.key, **extra},
        )
    if len(alerts) > MAX_ALERT_ENTRIES:
        timeline_record(
            incident=group.incident,
            kind=TimelineEntry.Kind.ALERT,
            body=f"…and {len(alerts) - MAX_ALERT_ENTRIES} more firing alerts in this group ({source_label}).",
            author=None,
            data={**data, "event": "trigger", "more": len(alerts) - MAX_ALERT_ENTRIES},
        )


@transaction.atomic
def alert_acknowledge(*, service, dedup_key: str, source: str, note: str = "") -> AlertOutcome:
    """Monitoring says someone is on it. Unknown or resolved key: nothing changes."""
    group = _open_group(service, dedup_key)
    if group is None or group.status != AlertGroup.Status.TRIGGERED:
        return AlertOutcome(group=group)
    now = timezone.now()
    group.status = AlertGroup.Status.ACKNOWLEDGED
    group.acknowledged_at = now
    group.last_event_at = now
    group.event_count += 1
    group.save(update_fields=["status", "acknowledged_at", "last_event_at", "event_count"])
    body = f"Alert acknowledged in {AlertGroup.Source(source).label}"
    if note:
        body += f": {note}"
    timeline_record(
        incident=group.incident,
        kind=TimelineEntry.Kind.ALERT,
        body=body,
        author=None,
        data={"source": source, "dedup_key": dedup_key, "event": "acknowledge"},
    )
    return AlertOutcome(group=group, changed=True)


@transaction.atomic
def alert_resolve(
    *, service, dedup_key: str, source: str, cleared: list[FiringAlert] | None = None
) -> AlertOutcome:
    """The alerts of the group cleared: record it, close the group; resolve the incident only
    when the service says so (otherwise resolving stays a person's decision)."""
    group = _open_group(service, dedup_key)
    if group is None:
        return AlertOutcome(group=None)
    now = timezone.now()
    _close(group, now)
    AlertGroup.objects.filter(pk=group.pk).update(event_count=F("event_count") + 1)
    body = f"Alerts cleared ({AlertGroup.Source(source).label} sent resolve)"
    if cleared:
        body += "\n\n" + "\n".join(f"- {a.text}" for a in cleared)
    incident = group.incident
    timeline_record(
        incident=incident,
        kind=TimelineEntry.Kind.ALERT,
        body=body[:20000],
        author=None,
        data={"source": source, "dedup_key": dedup_key, "event": "resolve"},
    )
    outcome = AlertOutcome(group=group, changed=True)
    if alert_settings_for(service).auto_resolve and incident.is_open:
        try:
            with transaction.atomic():
                incident_change_status(
                    incident=incident,
                    status=Incident.Status.RESOLVED,
                    by=None,
                    note="Resolved automatically: the alerts cleared and the service is set to auto-resolve.",
                )
        except IncidentError as error:
            timeline_record(
                incident=incident,
                kind=TimelineEntry.Kind.NOTE,
                body=f"The alerts cleared but the incident was not resolved automatically: {error}",
                author=None,
                data={"auto_resolve_refused": True},
            )
            outcome.notes.append(str(error))
    return outcome


@transaction.atomic
def alert_cleared_partly(*, service, dedup_key: str, source: str, cleared: list[FiringAlert]) -> AlertOutcome:
    """Some alerts of a still-firing group resolved: record each once, leave the group open."""
    group = _open_group(service, dedup_key)
    if group is None or not cleared:
        return AlertOutcome(group=group)
    seen = list(group.seen_alerts or [])
    fresh = [a for a in cleared if f"cleared:{a.key}" not in seen]
    if not fresh:
        return AlertOutcome(group=group)
    group.seen_alerts = (seen + [f"cleared:{a.key}" for a in fresh])[-SEEN_ALERTS_KEPT:]
    group.save(update_fields=["seen_alerts"])
    timeline_record(
        incident=group.incident,
        kind=TimelineEntry.Kind.ALERT,
        body=("Alerts cleared:\n\n" + "\n".join(f"- {a.text}" for a in fresh))[:20000],
        author=None,
        data={"source": source, "dedup_key": dedup_key, "event": "partly_resolved"},
    )
    return AlertOutcome(group=group, changed=True)


@transaction.atomic
def alert_settings_update(
    *,
    service,
    severity_label: str,
    severity_map: dict,
    default_severity: int,
    auto_resolve: bool,
    page_on_call: bool,
) -> AlertSettings:
    """Set how a service's alerts become incidents (creates the settings on first use)."""
    severity_label = (severity_label or "").strip()
    if not severity_label or len(severity_label) > 100:
        raise IncidentError("The severity label is a label name of 1 to 100 characters.")
    if not isinstance(severity_map, dict) or len(severity_map) > 50:
        raise IncidentError("The severity map is an object of at most 50 label values.")
    cleaned: dict[str, int] = {}
    for value, sev in severity_map.items():
        if not isinstance(value, str) or not value.strip() or len(value) > 100:
            raise IncidentError("Severity map keys are label values of 1 to 100 characters.")
        if isinstance(sev, bool) or sev not in Severity.values:
            raise IncidentError(f"{value!r} must map to a severity from 1 to 5, not {sev!r}.")
        cleaned[value.strip().lower()] = sev
    if default_severity not in Severity.values:
        raise IncidentError("The default severity is 1 to 5.")
    settings_, _ = AlertSettings.objects.select_for_update().get_or_create(service=service)
    settings_.severity_label = severity_label
    settings_.severity_map = cleaned
    settings_.default_severity = default_severity
    settings_.auto_resolve = auto_resolve
    settings_.page_on_call = page_on_call
    settings_.save()
    return settings_
