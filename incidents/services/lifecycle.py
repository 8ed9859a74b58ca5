"""An incident's life: declared, moved through its statuses, raised or lowered, reopened, frozen, edited."""

from collections.abc import Mapping, Sequence
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from core.text import one_line
from incidents import hooks
from incidents.models import (
    MAJOR_SEVERITIES,
    Change,
    ContactLinks,
    Incident,
    IncidentCounter,
    Participation,
    Severity,
    TimelineEntry,
    Verification,
)
from incidents.services.common import (
    IncidentError,
    bump,
    incident_lock,
    join,
    publish_revision,
    require_decider,
    write_entry,
)
from incidents.services.tools import change_keep, change_restore, contacts_inherit

Status = Incident.Status
Kind = TimelineEntry.Kind


class ChangesInPlace(IncidentError):
    """Resolving a major incident with changes still in place: keep or restore each one first."""

    def __init__(self, changes: Sequence[Change]):
        self.changes = list(changes)
        names = "; ".join(f"{c.what} ({c.where})" for c in self.changes)
        super().__init__(
            f"These changes are still in place: {names}. Keep or restore each one before resolving."
        )


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


# The way forward, in order: the room's status control offers the next one first.
FORWARD = (Status.TRIAGE, Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED)


def forward_status(status: str) -> str | None:
    """The next status forward that the rules allow from `status` (never a step back)."""
    if status not in FORWARD:
        return None
    later = FORWARD[FORWARD.index(status) + 1 :]
    return next((s for s in later if s in TRANSITIONS[status]), None)


@transaction.atomic
def incident_acknowledge(*, incident: Incident, at: datetime) -> bool:
    """The incident is acknowledged (a page for it was): the first acknowledgement sets
    acknowledged_at, where time to acknowledge stops. True when this one did.

    The caller writes what happened on the timeline (the page's acknowledgement),
    in the same transaction. A move out of triage sets it too (incident_change_status),
    whichever comes first.
    """
    incident = incident_lock(incident)
    if incident.acknowledged_at is not None and incident.acknowledged_at <= at:
        return False
    incident.acknowledged_at = at
    bump(incident, "acknowledged_at")
    return True


ROLLBACK_QUESTION = (
    "Rollback question: would a rollback to the previous version fix this, without causing other "
    "problems? Restoring service comes before finding the cause. The Incident Commander answers it "
    "in the room."
)


def _ask_rollback(incident: Incident) -> None:
    """The question a rise to major asks, on the timeline once per rise (the caller decided it is
    asked: the incident became major and nobody has answered it yet)."""
    write_entry(
        incident=incident,
        kind=Kind.NOTE,
        body=ROLLBACK_QUESTION,
        author=None,
        data={"rollback_asked": True},
    )


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
    services: Sequence[ContactLinks] = (),
) -> Incident:
    """Open an incident; declared as major, it asks the rollback question unless answered already.

    `services` are the affected services (roles.Service); their contact links are
    the incident's defaults.
    """
    if severity not in Severity.values:
        raise IncidentError("Severity must be SEV-1 to SEV-5.")
    # One line, whoever declares (a form, the API, an alert's summary): the title is
    # in the subject of pages and summaries, which end at any line break.
    title = one_line(title)
    if not title:
        raise IncidentError("An incident needs a title.")
    now = timezone.now()
    if detected_at and detected_at > now:
        raise IncidentError("An incident cannot be detected in the future.")

    counter, _ = IncidentCounter.objects.select_for_update().get_or_create(pk=1)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])

    rollback_considered = (rollback_considered or "").strip()
    asks_rollback = severity in MAJOR_SEVERITIES and not rollback_considered
    incident = Incident(
        number=counter.last_number,
        title=title,
        summary=summary,
        severity=severity,
        is_security=is_security,
        detected_at=detected_at or now,
        declared_at=now,
        declared_by=declared_by,
        rollback_considered=rollback_considered,
        rollback_asked_at=now if asks_rollback else None,
        major_since=now if severity in MAJOR_SEVERITIES else None,
        revision=1,
    )
    contacts_inherit(incident=incident, sources=list(services))
    incident.save()
    if services:
        incident.services.set(services)
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
    if asks_rollback:
        _ask_rollback(incident)
    if incident.is_major:
        # Declared major: the on-call IC is paged and the stakeholders told (roles), once.
        hooks.became_major(incident, declared_by)
        incident.refresh_from_db()  # what they wrote moved the revision on
    publish_revision(incident)
    return incident


@transaction.atomic
def incident_change_status(
    *,
    incident: Incident,
    status: str,
    by: AbstractBaseUser | None,
    note: str = "",
    settle_changes: Mapping[int, str] | None = None,
) -> Incident:
    """Move the incident on. Resolving a major one needs a passed verification since the last
    reopen, and a keep-or-restore for each change still in place (`settle_changes`: {change id:
    "keep" | "restore"}), applied in the same transaction."""
    incident = incident_lock(incident)
    require_decider(incident, by)
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
    if status == Status.DECLINED and not note.strip():
        raise IncidentError("Say why the incident is declined (a monitoring fluke, a bad check…).")
    if status == Status.RESOLVED and incident.is_major:
        if not has_verification(incident):
            raise IncidentError(
                "A major incident is resolved only after at least one verification step that passed"
                + (" since it was reopened" if incident.reopened_at else "")
                + ": record what was checked before the all-clear."
            )
        _settle_changes(incident, settle_changes or {}, by)

    now = timezone.now()
    incident.status = status
    fields = ["status"]
    if old == Status.TRIAGE and incident.acknowledged_at is None:
        incident.acknowledged_at = now
        fields.append("acknowledged_at")
    if status in (Status.MONITORING, Status.RESOLVED) and incident.mitigated_at is None:
        incident.mitigated_at = now
        fields.append("mitigated_at")
    lifts_freeze = status in Incident.CLOSED_STATUSES and incident.deploy_freeze
    if status in Incident.CLOSED_STATUSES:
        incident.resolved_at = now
        incident.deploy_freeze = False
        fields += ["resolved_at", "deploy_freeze"]
    bump(incident, *fields)

    body = f"Status changed from {Status(old).label} to {Status(status).label}"
    if note.strip():
        body += f"\n\n{note.strip()}"
    write_entry(incident=incident, kind=Kind.STATUS, body=body, author=by, data={"from": old, "to": status})
    if lifts_freeze:
        write_entry(
            incident=incident,
            kind=Kind.ACTION,
            body=f"Deploy freeze lifted: the incident is {Status(status).label.lower()}.",
            author=by,
            data={"freeze": False},
        )
    join(incident, by)
    return incident


def has_verification(incident: Incident) -> bool:
    """A verification that passed, recorded since the last reopen (cal.com step 10)."""
    passed = Verification.objects.filter(incident=incident, result=Verification.Result.PASSED).exclude(
        entry__struck_at__isnull=False
    )
    if incident.reopened_at is not None:
        passed = passed.filter(checked_at__gte=incident.reopened_at)
    return passed.exists()


def changes_in_place(incident: Incident) -> list[Change]:
    return list(
        Change.objects.filter(incident=incident, state=Change.State.IN_PLACE, restores__isnull=True).order_by(
            "occurred_at", "pk"
        )
    )


def _settle_changes(incident: Incident, settle: Mapping[int, str], by: AbstractBaseUser | None) -> None:
    """Keep or restore the changes still in place, as asked; refuse while any is left undecided."""
    pending = changes_in_place(incident)
    undecided = [c for c in pending if settle.get(c.pk) not in ("keep", "restore")]
    if undecided:
        raise ChangesInPlace(undecided)
    for change in pending:
        if settle[change.pk] == "restore":
            change_restore(change=change, by=by)
        else:
            change_keep(change=change, by=by)


@transaction.atomic
def incident_reopen(*, incident: Incident, by: AbstractBaseUser | None, reason: str) -> Incident:
    incident = incident_lock(incident)
    if incident.status not in Incident.CLOSED_STATUSES:
        raise IncidentError("Only a resolved or declined incident can be reopened.")
    if not reason.strip():
        raise IncidentError("Say why the incident is reopened.")
    old = incident.status
    was_mitigated = incident.mitigated_at is not None
    incident.status = Status.INVESTIGATING
    incident.resolved_at = None
    incident.mitigated_at = None
    incident.reopened_at = timezone.now()
    bump(incident, "status", "resolved_at", "mitigated_at", "reopened_at")
    body = f"Reopened (was {Status(old).label.lower()})\n\n{reason.strip()}"
    data = {"from": old, "to": Status.INVESTIGATING, "reopened": True}
    if was_mitigated:
        # Says so on the timeline: time to mitigate is measured again from here.
        body += "\n\nNot mitigated any more: the mitigation time is cleared."
        data["mitigated_cleared"] = True
    write_entry(incident=incident, kind=Kind.STATUS, body=body, author=by, data=data)
    join(incident, by)
    return incident


@transaction.atomic
def incident_change_severity(
    *, incident: Incident, severity: int, by: AbstractBaseUser | None, note: str = ""
) -> Incident:
    incident = incident_lock(incident)
    require_decider(incident, by)
    if severity not in Severity.values:
        raise IncidentError("Severity must be SEV-1 to SEV-5.")
    if not incident.is_open:
        raise IncidentError("A closed incident keeps its severity; reopen it first.")
    old = incident.severity
    if severity == old:
        raise IncidentError(f"The incident is already {Severity(old).label}.")
    if severity > old and not note.strip():
        raise IncidentError("Say why the severity is lowered: it changes who is told and how often.")
    incident.severity = severity
    fields = ["severity"]
    becomes_major = severity in MAJOR_SEVERITIES and old not in MAJOR_SEVERITIES
    asks_rollback = becomes_major and not incident.rollback_considered.strip()
    if asks_rollback:
        incident.rollback_asked_at = timezone.now()
        fields.append("rollback_asked_at")
    if becomes_major:
        incident.major_since = timezone.now()
        fields.append("major_since")
    elif severity not in MAJOR_SEVERITIES and incident.major_since is not None:
        incident.major_since = None  # the next rise is a rise again
        fields.append("major_since")
    bump(incident, *fields)
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
    if asks_rollback:
        _ask_rollback(incident)
    join(incident, by)
    if becomes_major:
        # Raised to major: the on-call IC is paged and the stakeholders told (roles), once per rise.
        hooks.became_major(incident, by)
        incident.refresh_from_db()
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
    *,
    incident: Incident,
    by: AbstractBaseUser | None,
    title: str,
    summary: str,
    services: Sequence | None = None,
    components: Sequence | None = None,
) -> Incident:
    """Correct what was declared: title, summary, affected services and components.

    The entry keeps every previous value (data["previous"]), as timeline edits do.
    `services`/`components` of None leave them as they are.
    """
    incident = incident_lock(incident)
    title = one_line(title)
    if not title:
        raise IncidentError("An incident needs a title.")
    if len(summary) > 10000:
        raise IncidentError("A summary is at most 10,000 characters.")
    changed, previous, now = [], {}, {}
    if title != incident.title:
        changed.append(f"Title changed from “{incident.title}” to “{title}”.")
        previous["title"], now["title"] = incident.title, title
        incident.title = title
    if summary != incident.summary:
        changed.append("Summary updated.")
        previous["summary"], now["summary"] = incident.summary, summary
        incident.summary = summary
    for name, chosen in (("services", services), ("components", components)):
        if chosen is None:
            continue
        current = list(getattr(incident, name).all())
        if {o.pk for o in current} == {o.pk for o in chosen}:
            continue
        getattr(incident, name).set(chosen)
        names = ", ".join(str(o) for o in chosen) or "none"
        changed.append(f"Affected {name}: {names} (was: {', '.join(str(o) for o in current) or 'none'}).")
        previous[name], now[name] = [o.pk for o in current], [o.pk for o in chosen]
    if not changed:
        return incident
    bump(incident, "title", "summary")
    write_entry(
        incident=incident,
        kind=Kind.NOTE,
        body=" ".join(changed),
        author=by,
        data={"details": now, "previous": previous},
    )
    join(incident, by)
    return incident


@transaction.atomic
def participant_add(
    *, incident: Incident, user: AbstractBaseUser, by: AbstractBaseUser | None, reason: str = ""
) -> Incident:
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
        body=f"{name} was added as a participant." + (f"\n\n{reason.strip()}" if reason.strip() else ""),
        author=by,
        data={"participant": user.pk},
    )
    return incident


@transaction.atomic
def participant_remove(
    *, incident: Incident, user: AbstractBaseUser, by: AbstractBaseUser | None, reason: str
) -> Incident:
    """Take someone out of an incident: a restricted one disappears for them on every surface at once."""
    incident = incident_lock(incident)
    if not reason.strip():
        raise IncidentError("Say why they leave the incident.")
    removed, _ = Participation.objects.filter(incident=incident, user=user).delete()
    if not removed:
        raise IncidentError(f"{user} does not take part in it.")
    bump(incident)
    name = user.get_full_name() or user.get_username()
    write_entry(
        incident=incident,
        kind=Kind.NOTE,
        body=f"{name} no longer takes part.\n\n{reason.strip()}",
        author=by,
        data={"participant": user.pk, "removed": True},
    )
    return incident
