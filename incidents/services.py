"""Every change to an incident and its timeline goes through here.

Each service locks the incident row, checks that the change is allowed, writes
the change and its timeline entry in one transaction, and bumps the incident's
revision so that every open incident room picks the change up.
"""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from core.errors import DomainError
from core.markdown import render_markdown
from incidents import hooks, permissions
from incidents.models import (
    Incident,
    IncidentCounter,
    Participation,
    Severity,
    TimelineEntry,
    TimelineEntryEdit,
)

Status = Incident.Status
Kind = TimelineEntry.Kind


class IncidentError(DomainError):
    """A change the rules do not allow; the message is meant for a person."""


# Which status may follow which. Resolved and declined are left only through
# incident_reopen, which asks for a reason.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.TRIAGE: frozenset(
        {Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED, Status.DECLINED}
    ),
    Status.INVESTIGATING: frozenset({Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED, Status.DECLINED}),
    Status.IDENTIFIED: frozenset({Status.INVESTIGATING, Status.MONITORING, Status.RESOLVED}),
    Status.MONITORING: frozenset({Status.INVESTIGATING, Status.IDENTIFIED, Status.RESOLVED}),
    Status.RESOLVED: frozenset(),
    Status.DECLINED: frozenset(),
}

BACKDATE_TOLERANCE_SECONDS = 60


def room_revision_key(incident_id: int) -> str:
    return f"incident-room:{incident_id}"


def _publish_revision(incident: Incident) -> None:
    # The live room reads (revision, restricted) from the cache so that a poll
    # that finds nothing new costs no database query. A lost write here only
    # costs the pollers one read of the incident row.
    key = room_revision_key(incident.pk)
    value = (incident.revision, incident.is_security)

    def publish() -> None:
        try:
            cache.set(key, value, timeout=24 * 3600)
        except Exception:  # noqa: BLE001 - the cache is an optimisation, never a failure
            pass

    transaction.on_commit(publish)


def _lock(incident: Incident) -> Incident:
    return Incident.objects.select_for_update().get(pk=incident.pk)


def _bump(incident: Incident, *fields: str) -> None:
    incident.revision += 1
    incident.save(update_fields=[*fields, "revision", "updated_at"])
    _publish_revision(incident)


def _write_entry(
    *,
    incident: Incident,
    kind: str,
    body: str,
    author: AbstractBaseUser | None,
    occurred_at: datetime | None = None,
    backdate_reason: str = "",
    data: dict | None = None,
    body_html: str | None = None,
) -> TimelineEntry:
    # The caller has bumped incident.revision already, in the same transaction.
    now = timezone.now()
    entry = TimelineEntry.objects.create(
        incident=incident,
        kind=kind,
        body=body,
        body_html=render_markdown(body) if body_html is None else body_html,
        author=author,
        occurred_at=occurred_at or now,
        recorded_at=now,
        backdate_reason=backdate_reason,
        data=data or {},
        revision=incident.revision,
        revision_created=incident.revision,
    )
    # The entry is the event: what reacts to it (outgoing webhooks) writes its
    # own rows in this same transaction, so a rollback sends nothing.
    hooks.entry_written(entry)
    return entry


def _join(incident: Incident, user: AbstractBaseUser | None) -> None:
    if user is not None and user.is_authenticated:
        Participation.objects.get_or_create(incident=incident, user=user)


@transaction.atomic
def incident_declare(
    *,
    title: str,
    severity: int,
    declared_by: AbstractBaseUser | None,
    summary: str = "",
    is_security: bool = False,
    detected_at: datetime | None = None,
    rollback_considered: str = "",
) -> Incident:
    if severity not in Severity.values:
        raise IncidentError("Severity must be SEV-1 to SEV-5.")
    title = title.strip()
    if not title:
        raise IncidentError("An incident needs a title.")
    now = timezone.now()
    if detected_at and detected_at > now:
        raise IncidentError("An incident cannot be detected in the future.")

    counter, _ = IncidentCounter.objects.select_for_update().get_or_create(pk=1)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])

    incident = Incident.objects.create(
        number=counter.last_number,
        title=title,
        summary=summary,
        severity=severity,
        is_security=is_security,
        detected_at=detected_at or now,
        declared_at=now,
        declared_by=declared_by,
        rollback_considered=rollback_considered,
        revision=1,
    )
    _join(incident, declared_by)
    body = f"Declared as {Severity(severity).label}"
    if is_security:
        body += " (security incident: restricted to participants)"
    if rollback_considered:
        body += f"\n\nWould a rollback fix this? {rollback_considered}"
    _write_entry(
        incident=incident,
        kind=Kind.STATUS,
        body=body,
        author=declared_by,
        data={"to": Status.TRIAGE, "severity": severity},
    )
    _publish_revision(incident)
    return incident


@transaction.atomic
def incident_change_status(
    *, incident: Incident, status: str, by: AbstractBaseUser | None, note: str = ""
) -> Incident:
    incident = _lock(incident)
    old = incident.status
    if status not in Status.values:
        raise IncidentError(f"{status!r} is not a status.")
    if status == old:
        raise IncidentError(f"The incident is already {incident.get_status_display().lower()}.")
    if old in Incident.CLOSED_STATUSES:
        raise IncidentError(
            f"The incident is {incident.get_status_display().lower()}: reopen it, with a reason, "
            "before changing its status."
        )
    if status not in TRANSITIONS[old]:
        raise IncidentError(
            f"An incident cannot go from {Status(old).label.lower()} to {Status(status).label.lower()}."
        )
    if status == Status.RESOLVED and incident.is_major and not _has_verification(incident):
        raise IncidentError(
            "A major incident is resolved only after at least one verification step: record what "
            "was checked before the all-clear."
        )

    now = timezone.now()
    incident.status = status
    fields = ["status"]
    if old == Status.TRIAGE and incident.acknowledged_at is None:
        incident.acknowledged_at = now
        fields.append("acknowledged_at")
    if status in (Status.MONITORING, Status.RESOLVED) and incident.mitigated_at is None:
        incident.mitigated_at = now
        fields.append("mitigated_at")
    if status in Incident.CLOSED_STATUSES:
        incident.resolved_at = now
        incident.deploy_freeze = False
        fields += ["resolved_at", "deploy_freeze"]
    _bump(incident, *fields)

    body = f"Status changed from {Status(old).label} to {Status(status).label}"
    if note.strip():
        body += f"\n\n{note.strip()}"
    _write_entry(incident=incident, kind=Kind.STATUS, body=body, author=by, data={"from": old, "to": status})
    _join(incident, by)
    return incident


def _has_verification(incident: Incident) -> bool:
    return incident.timeline.filter(kind=Kind.VERIFICATION, struck_at__isnull=True).exists()


@transaction.atomic
def incident_reopen(*, incident: Incident, by: AbstractBaseUser | None, reason: str) -> Incident:
    incident = _lock(incident)
    if incident.status not in Incident.CLOSED_STATUSES:
        raise IncidentError("Only a resolved or declined incident can be reopened.")
    if not reason.strip():
        raise IncidentError("Say why the incident is reopened.")
    old = incident.status
    incident.status = Status.INVESTIGATING
    incident.resolved_at = None
    _bump(incident, "status", "resolved_at")
    _write_entry(
        incident=incident,
        kind=Kind.STATUS,
        body=f"Reopened (was {Status(old).label.lower()})\n\n{reason.strip()}",
        author=by,
        data={"from": old, "to": Status.INVESTIGATING, "reopened": True},
    )
    _join(incident, by)
    return incident


@transaction.atomic
def incident_change_severity(
    *, incident: Incident, severity: int, by: AbstractBaseUser | None, note: str = ""
) -> Incident:
    incident = _lock(incident)
    if severity not in Severity.values:
        raise IncidentError("Severity must be SEV-1 to SEV-5.")
    if not incident.is_open:
        raise IncidentError("A closed incident keeps its severity; reopen it first.")
    old = incident.severity
    if severity == old:
        raise IncidentError(f"The incident is already {Severity(old).label}.")
    incident.severity = severity
    _bump(incident, "severity")
    direction = "raised" if severity < old else "lowered"
    body = f"Severity {direction} from {Severity(old).label} to {Severity(severity).label}"
    if note.strip():
        body += f"\n\n{note.strip()}"
    _write_entry(
        incident=incident,
        kind=Kind.SEVERITY,
        body=body,
        author=by,
        data={"from": old, "to": severity},
    )
    _join(incident, by)
    return incident


@transaction.atomic
def incident_set_deploy_freeze(*, incident: Incident, freeze: bool, by: AbstractBaseUser | None) -> Incident:
    incident = _lock(incident)
    if incident.deploy_freeze == freeze:
        raise IncidentError("The deploy freeze is already " + ("on." if freeze else "off."))
    if freeze and not incident.is_open:
        raise IncidentError("A closed incident cannot freeze deploys.")
    incident.deploy_freeze = freeze
    _bump(incident, "deploy_freeze")
    body = (
        "Deploy freeze on: developers, do not deploy until it is lifted."
        if freeze
        else "Deploy freeze lifted."
    )
    _write_entry(incident=incident, kind=Kind.ACTION, body=body, author=by, data={"freeze": freeze})
    _join(incident, by)
    return incident


@transaction.atomic
def incident_edit_details(
    *, incident: Incident, by: AbstractBaseUser | None, title: str, summary: str
) -> Incident:
    incident = _lock(incident)
    title = title.strip()
    if not title:
        raise IncidentError("An incident needs a title.")
    changed = []
    if title != incident.title:
        changed.append(f"Title changed from “{incident.title}” to “{title}”.")
        incident.title = title
    if summary != incident.summary:
        changed.append("Summary updated.")
        incident.summary = summary
    if not changed:
        return incident
    _bump(incident, "title", "summary")
    _write_entry(incident=incident, kind=Kind.NOTE, body=" ".join(changed), author=by)
    return incident


@transaction.atomic
def timeline_add(
    *,
    incident: Incident,
    kind: str,
    body: str,
    author: AbstractBaseUser,
    occurred_at: datetime | None = None,
    backdate_reason: str = "",
) -> TimelineEntry:
    if kind not in TimelineEntry.WRITABLE_KINDS:
        raise IncidentError("That kind of entry is written by the portal, not by hand.")
    body = body.strip()
    if not body:
        raise IncidentError("An entry needs some text.")
    now = timezone.now()
    if occurred_at is not None:
        if occurred_at > now:
            raise IncidentError("An entry cannot happen in the future.")
        if (now - occurred_at).total_seconds() > BACKDATE_TOLERANCE_SECONDS:
            if not backdate_reason.strip():
                raise IncidentError("Say why the entry is back-dated.")
        else:
            occurred_at, backdate_reason = None, ""
    # Render before taking the incident's lock: a long note must not hold up
    # everyone else writing to the room.
    body_html = render_markdown(body)
    incident = _lock(incident)
    _bump(incident)
    entry = _write_entry(
        incident=incident,
        kind=kind,
        body=body,
        body_html=body_html,
        author=author,
        occurred_at=occurred_at,
        backdate_reason=backdate_reason.strip(),
    )
    _join(incident, author)
    return entry


@transaction.atomic
def timeline_edit(*, entry: TimelineEntry, body: str, by: AbstractBaseUser) -> TimelineEntry:
    body_html = render_markdown(body.strip())
    incident = _lock(entry.incident)
    entry = TimelineEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.kind not in TimelineEntry.WRITABLE_KINDS:
        raise IncidentError("Entries written by the portal cannot be edited.")
    if entry.is_struck:
        raise IncidentError("A struck entry cannot be edited.")
    if not permissions.may_edit_entry(by, entry):
        raise IncidentError("Only the author can edit an entry.")
    body = body.strip()
    if not body:
        raise IncidentError("An entry needs some text; strike it through instead.")
    if body == entry.body:
        return entry
    TimelineEntryEdit.objects.create(entry=entry, previous_body=entry.body, edited_by=by)
    _bump(incident)
    entry.body = body
    entry.body_html = body_html
    entry.edited_at = timezone.now()
    entry.revision = incident.revision
    entry.save(update_fields=["body", "body_html", "edited_at", "revision"])
    return entry


@transaction.atomic
def timeline_strike(*, entry: TimelineEntry, by: AbstractBaseUser, reason: str) -> TimelineEntry:
    incident = _lock(entry.incident)
    entry = TimelineEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.is_struck:
        raise IncidentError("The entry is struck already.")
    if entry.kind not in TimelineEntry.WRITABLE_KINDS:
        raise IncidentError("Entries written by the portal cannot be struck.")
    if not permissions.may_edit_entry(by, entry):
        raise IncidentError("Only the author can strike an entry through.")
    if not reason.strip():
        raise IncidentError("Say why the entry is struck through.")
    _bump(incident)
    entry.struck_at = timezone.now()
    entry.struck_by = by
    entry.strike_reason = reason.strip()
    entry.revision = incident.revision
    entry.save(update_fields=["struck_at", "struck_by", "strike_reason", "revision"])
    return entry


@transaction.atomic
def participant_add(*, incident: Incident, user: AbstractBaseUser, by: AbstractBaseUser | None) -> Incident:
    """Let someone into an incident; for a restricted one this is how they see it."""
    incident = _lock(incident)
    if not user.is_active:
        raise IncidentError(f"{user} is not an active user.")
    if Participation.objects.filter(incident=incident, user=user).exists():
        raise IncidentError(f"{user} is a participant already.")
    Participation.objects.create(incident=incident, user=user)
    _bump(incident)
    name = user.get_full_name() or user.get_username()
    _write_entry(
        incident=incident,
        kind=Kind.NOTE,
        body=f"{name} was added as a participant.",
        author=by,
        data={"participant": user.pk},
    )
    return incident


@transaction.atomic
def timeline_record(
    *,
    incident: Incident,
    kind: str,
    body: str,
    author: AbstractBaseUser | None,
    data: dict | None = None,
) -> TimelineEntry:
    """A portal-written entry (role, page, public update, alert...) for other apps' services.

    Runs in the caller's transaction, so the change and its entry commit together.
    """
    incident = _lock(incident)
    _bump(incident)
    entry = _write_entry(incident=incident, kind=kind, body=body, author=author, data=data)
    _join(incident, author)
    return entry
