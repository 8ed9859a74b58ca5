"""An incident's life: declared, moved through its statuses, raised or lowered, reopened, frozen, edited."""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from incidents.models import Incident, IncidentCounter, Participation, Severity, TimelineEntry
from incidents.services.common import IncidentError, bump, incident_lock, join, publish_revision, write_entry

Status = Incident.Status
Kind = TimelineEntry.Kind


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
    join(incident, declared_by)
    body = f"Declared as {Severity(severity).label}"
    if is_security:
        body += " (security incident: restricted to participants)"
    if rollback_considered:
        body += f"\n\nWould a rollback fix this? {rollback_considered}"
    write_entry(
        incident=incident,
        kind=Kind.STATUS,
        body=body,
        author=declared_by,
        data={"to": Status.TRIAGE, "severity": severity},
    )
    publish_revision(incident)
    return incident


@transaction.atomic
def incident_change_status(
    *, incident: Incident, status: str, by: AbstractBaseUser | None, note: str = ""
) -> Incident:
    incident = incident_lock(incident)
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
    if status == Status.RESOLVED and incident.is_major and not has_verification(incident):
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
    bump(incident, *fields)

    body = f"Status changed from {Status(old).label} to {Status(status).label}"
    if note.strip():
        body += f"\n\n{note.strip()}"
    write_entry(incident=incident, kind=Kind.STATUS, body=body, author=by, data={"from": old, "to": status})
    join(incident, by)
    return incident


def has_verification(incident: Incident) -> bool:
    return incident.timeline.filter(kind=Kind.VERIFICATION, struck_at__isnull=True).exists()


@transaction.atomic
def incident_reopen(*, incident: Incident, by: AbstractBaseUser | None, reason: str) -> Incident:
    incident = incident_lock(incident)
    if incident.status not in Incident.CLOSED_STATUSES:
        raise IncidentError("Only a resolved or declined incident can be reopened.")
    if not reason.strip():
        raise IncidentError("Say why the incident is reopened.")
    old = incident.status
    incident.status = Status.INVESTIGATING
    incident.resolved_at = None
    bump(incident, "status", "resolved_at")
    write_entry(
        incident=incident,
        kind=Kind.STATUS,
        body=f"Reopened (was {Status(old).label.lower()})\n\n{reason.strip()}",
        author=by,
        data={"from": old, "to": Status.INVESTIGATING, "reopened": True},
    )
    join(incident, by)
    return incident


@transaction.atomic
def incident_change_severity(
    *, incident: Incident, severity: int, by: AbstractBaseUser | None, note: str = ""
) -> Incident:
    incident = incident_lock(incident)
    if severity not in Severity.values:
        raise IncidentError("Severity must be SEV-1 to SEV-5.")
    if not incident.is_open:
        raise IncidentError("A closed incident keeps its severity; reopen it first.")
    old = incident.severity
    if severity == old:
        raise IncidentError(f"The incident is already {Severity(old).label}.")
    incident.severity = severity
    bump(incident, "severity")
    direction = "raised" if severity < old else "lowered"
    body = f"Severity {direction} from {Severity(old).label} to {Severity(severity).label}"
    if note.strip():
        body += f"\n\n{note.strip()}"
    write_entry(
        incident=incident,
        kind=Kind.SEVERITY,
        body=body,
        author=by,
        data={"from": old, "to": severity},
    )
    join(incident, by)
    return incident


@transaction.atomic
def incident_set_deploy_freeze(*, incident: Incident, freeze: bool, by: AbstractBaseUser | None) -> Incident:
    incident = incident_lock(incident)
    if incident.deploy_freeze == freeze:
        raise IncidentError("The deploy freeze is already " + ("on." if freeze else "off."))
    if freeze and not incident.is_open:
        raise IncidentError("A closed incident cannot freeze deploys.")
    incident.deploy_freeze = freeze
    bump(incident, "deploy_freeze")
    body = (
        "Deploy freeze on: developers, do not deploy until it is lifted."
        if freeze
        else "Deploy freeze lifted."
    )
    write_entry(incident=incident, kind=Kind.ACTION, body=body, author=by, data={"freeze": freeze})
    join(incident, by)
    return incident


@transaction.atomic
def incident_edit_details(
    *, incident: Incident, by: AbstractBaseUser | None, title: str, summary: str
) -> Incident:
    incident = incident_lock(incident)
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
    bump(incident, "title", "summary")
    write_entry(incident=incident, kind=Kind.NOTE, body=" ".join(changed), author=by)
    return incident


@transaction.atomic
def participant_add(*, incident: Incident, user: AbstractBaseUser, by: AbstractBaseUser | None) -> Incident:
    """Let someone into an incident; for a restricted one this is how they see it."""
    incident = incident_lock(incident)
    if not user.is_active:
        raise IncidentError(f"{user} is not an active user.")
    if Participation.objects.filter(incident=incident, user=user).exists():
        raise IncidentError(f"{user} is a participant already.")
    Participation.objects.create(incident=incident, user=user)
    bump(incident)
    name = user.get_full_name() or user.get_username()
    write_entry(
        incident=incident,
        kind=Kind.NOTE,
        body=f"{name} was added as a participant.",
        author=by,
        data={"participant": user.pk},
    )
    return incident
