"""The response tools the seeds ask for, each a record with its own states and a timeline entry.

- hypotheses: "validate hypotheses before trying a solution" (open, confirmed, ruled out);
- decisions: fix, patch, workaround or rollback, with the reason; several may be active;
- changes: what changed where, the old value and how to restore it; a restore is a change too;
- verification: what was checked before the all-clear (cal.com step 10);
- the rollback question, asked whenever an incident becomes major (cal.com step 6);
- where to join: bridge, chat, dashboards and runbooks.

Every service locks the incident, writes the record and a portal entry (the
entry's data names the record), in one transaction.
"""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from core.errors import NotAllowed
from incidents import permissions
from incidents.models import (
    Change,
    ContactLinks,
    Decision,
    Hypothesis,
    Incident,
    TimelineEntry,
    Verification,
    validate_link_lines,
)
from incidents.services.common import (
    IncidentError,
    bump,
    incident_lock,
    join,
    require_decider,
    write_entry,
)
from incidents.services.timeline import BACKDATE_TOLERANCE_SECONDS

Kind = TimelineEntry.Kind
MASKED = "••••••"

_url = URLValidator(schemes=["http", "https"])


def _one_line(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    if len(text) > limit:
        raise IncidentError(f"Keep it to {limit} characters.")
    return text


def _required(text: str, what: str, limit: int) -> str:
    text = _one_line(text, limit)
    if not text:
        raise IncidentError(f"Say {what}.")
    return text


def _text(text: str, limit: int) -> str:
    text = (text or "").strip()
    if len(text) > limit:
        raise IncidentError(f"Keep it to {limit:,} characters.")
    return text


def _record(
    incident: Incident,
    *,
    kind: str,
    body: str,
    by: AbstractBaseUser | None,
    data: dict,
    occurred_at: datetime | None = None,
    backdate_reason: str = "",
    fields: tuple[str, ...] = (),
) -> TimelineEntry:
    """Bump the (locked) incident and write the portal's entry for a response tool."""
    bump(incident, *fields)
    entry = write_entry(
        incident=incident,
        kind=kind,
        body=body,
        author=by,
        data=data,
        occurred_at=occurred_at,
        backdate_reason=backdate_reason,
    )
    join(incident, by)
    return entry


def _open_incident(incident: Incident) -> Incident:
    incident = incident_lock(incident)
    if not incident.is_open:
        raise IncidentError(
            f"The incident is {incident.get_status_display().lower()}: reopen it to record more."
        )
    return incident


def _backdate(occurred_at: datetime | None, reason: str) -> tuple[datetime | None, str]:
    """Like timeline entries: a time more than a minute ago needs a reason."""
    if occurred_at is None:
        return None, ""
    now = timezone.now()
    if occurred_at > now:
        raise IncidentError("A change cannot happen in the future.")
    if (now - occurred_at).total_seconds() <= BACKDATE_TOLERANCE_SECONDS:
        return None, ""
    reason = _one_line(reason, 300)
    if not reason:
        raise IncidentError("Say why the change is back-dated.")
    return occurred_at, reason


class NotWorking(IncidentError, NotAllowed):
    """Who may not see the incident does not work it either (a 403 in the API, a 404 before it)."""


def _require_worker(incident: Incident, by: AbstractBaseUser | None) -> None:
    """The tools anyone working the incident uses (incidents/permissions.py may_work); `by=None`
    is the portal. Views and the API have already answered 404 to who may not see it: this
    keeps every other caller (chat, a script) to the same rule."""
    if by is not None and not permissions.may_work(by, incident):
        raise NotWorking("Only people working this incident may record that.")


def _own(record, incident: Incident, what: str):
    if record is not None and record.incident_id != incident.pk:
        raise IncidentError(f"That {what} belongs to another incident.")
    return record


# --- Hypotheses ---------------------------------------------------------------------------------


@transaction.atomic
def hypothesis_raise(*, incident: Incident, by: AbstractBaseUser | None, statement: str) -> Hypothesis:
    incident = _open_incident(incident)
    _require_worker(incident, by)
    statement = _required(statement, "what you suspect", 500)
    hypothesis = Hypothesis.objects.create(incident=incident, statement=statement, raised_by=by)
    _record(
        incident,
        kind=Kind.HYPOTHESIS,
        body=f"Hypothesis: {statement}",
        by=by,
        data={"hypothesis": hypothesis.pk, "state": Hypothesis.State.OPEN},
    )
    return hypothesis


@transaction.atomic
def hypothesis_decide(
    *,
    hypothesis: Hypothesis,
    by: AbstractBaseUser | None,
    state: str,
    evidence: str = "",
    evidence_url: str = "",
    evidence_entry: TimelineEntry | None = None,
) -> Hypothesis:
    """Confirm or rule out, with what decided it: text, a link, or a finding on the timeline."""
    incident = incident_lock(hypothesis.incident)
    _require_worker(incident, by)
    hypothesis = Hypothesis.objects.select_for_update().get(pk=hypothesis.pk)
    if state not in (Hypothesis.State.CONFIRMED, Hypothesis.State.RULED_OUT):
        raise IncidentError("A hypothesis is confirmed or ruled out.")
    if not hypothesis.is_open:
        raise IncidentError(f"The hypothesis is {hypothesis.get_state_display().lower()} already.")
    evidence = _text(evidence, 5000)
    evidence_url = (evidence_url or "").strip()
    if evidence_url:
        try:
            _url(evidence_url)
        except ValidationError:
            raise IncidentError("The evidence link must be an http(s) URL.") from None
    if evidence_entry is not None:
        _own(evidence_entry, incident, "finding")
        if evidence_entry.is_struck:
            raise IncidentError("A struck entry is no evidence.")
    if not (evidence or evidence_url or evidence_entry):
        raise IncidentError("Say what decided it: a finding, a link, or a few words.")
    hypothesis.state = state
    hypothesis.evidence = evidence
    hypothesis.evidence_url = evidence_url
    hypothesis.evidence_entry = evidence_entry
    hypothesis.decided_by = by
    hypothesis.decided_at = timezone.now()
    hypothesis.save()
    verdict = "Confirmed" if state == Hypothesis.State.CONFIRMED else "Ruled out"
    lines = [f"{verdict}: {hypothesis.statement}"]
    if evidence:
        lines += ["", evidence]
    if evidence_url:
        lines += ["", f"Evidence: {evidence_url}"]
    if evidence_entry is not None:
        lines += ["", f"Evidence: the finding of {evidence_entry.occurred_at:%H:%M} on the timeline."]
    _record(
        incident,
        kind=Kind.HYPOTHESIS,
        body="\n".join(lines),
        by=by,
        data={"hypothesis": hypothesis.pk, "state": state},
    )
    return hypothesis


# --- Decisions ----------------------------------------------------------------------------------


@transaction.atomic
def decision_record(
    *,
    incident: Incident,
    by: AbstractBaseUser | None,
    kind: str,
    summary: str,
    reason: str,
    rollback_to: str = "",
    hypothesis: Hypothesis | None = None,
    workstream: int | None = None,
) -> Decision:
    """`workstream`: the sub-team whose proposal this decision approves (roles), so the entry shows
    in that workstream's slice of the timeline."""
    incident = _open_incident(incident)
    require_decider(incident, by)  # the repair decision is the IC's (others propose it)
    if kind not in Decision.Kind.values:
        raise IncidentError("A decision is a fix, a patch, a workaround or a rollback.")
    summary = _required(summary, "what you decided", 300)
    reason = _text(reason, 5000)
    if not reason:
        raise IncidentError("Say why: the reason is what the review will want to know.")
    rollback_to = _one_line(rollback_to, 300)
    if kind == Decision.Kind.ROLLBACK and not rollback_to:
        raise IncidentError("Say what the rollback goes back to (a version, a commit, a config).")
    _own(hypothesis, incident, "hypothesis")
    decision = Decision.objects.create(
        incident=incident,
        kind=kind,
        summary=summary,
        reason=reason,
        rollback_to=rollback_to if kind == Decision.Kind.ROLLBACK else "",
        hypothesis=hypothesis,
        decided_by=by,
    )
    label = Decision.Kind(kind).label
    lines = [f"Decision ({label.lower()}): {summary}", "", reason]
    if decision.rollback_to:
        lines += ["", f"Rolling back to: {decision.rollback_to}"]
    if hypothesis is not None:
        lines += ["", f"Acting on the hypothesis: {hypothesis.statement}"]
    _record(
        incident,
        kind=Kind.DECISION,
        body="\n".join(lines),
        by=by,
        data={
            "decision": decision.pk,
            "decision_kind": kind,
            "state": Decision.State.ACTIVE,
            **({"workstream": workstream} if workstream is not None else {}),
        },
    )
    return decision


@transaction.atomic
def decision_close(
    *, decision: Decision, by: AbstractBaseUser | None, state: str, note: str = ""
) -> Decision:
    """A decision is done (it worked) or abandoned (another one is taken)."""
    incident = incident_lock(decision.incident)
    # Like recording it: the IC's and the deputy's while there is an IC (no proposal asks for it).
    require_decider(incident, by, proposable=False)
    decision = Decision.objects.select_for_update().get(pk=decision.pk)
    if state not in (Decision.State.DONE, Decision.State.ABANDONED):
        raise IncidentError("A decision ends done or abandoned.")
    if decision.state != Decision.State.ACTIVE:
        raise IncidentError(f"The decision is {decision.get_state_display().lower()} already.")
    decision.state = state
    decision.closed_at = timezone.now()
    decision.save(update_fields=["state", "closed_at"])
    note = _text(note, 2000)
    body = f"Decision {decision.get_state_display().lower()}: {decision.summary}" + (
        f"\n\n{note}" if note else ""
    )
    _record(incident, kind=Kind.DECISION, body=body, by=by, data={"decision": decision.pk, "state": state})
    return decision


# --- Changes ------------------------------------------------------------------------------------


def change_values_visible_to(change: Change, user: AbstractBaseUser | None) -> bool:
    """A sensitive change's values are shown to who recorded it and to admins only."""
    if not change.is_sensitive:
        return True
    return user is not None and (
        permissions.is_admin(user) or (permissions.is_active(user) and change.recorded_by_id == user.pk)
    )


def _change_body(change: Change) -> str:
    """The timeline's words for a change: sensitive values never reach the timeline."""
    verb = "Restored" if change.is_restore else "Changed"
    lines = [f"{verb} {change.what} ({change.where})"]
    if change.is_sensitive:
        lines.append("Values are sensitive: see the changes panel, if you may.")
    else:
        lines.append(f"Was: `{change.old_value or '—'}` · now: `{change.new_value or '—'}`")
    if change.how_to_restore and not change.is_restore:
        lines += ["", f"To restore: {change.how_to_restore}"]
    return "\n".join(lines)


@transaction.atomic
def change_record(
    *,
    incident: Incident,
    by: AbstractBaseUser | None,
    what: str,
    where: str,
    old_value: str = "",
    new_value: str = "",
    how_to_restore: str = "",
    is_sensitive: bool = False,
    hypothesis: Hypothesis | None = None,
    decision: Decision | None = None,
    occurred_at: datetime | None = None,
    backdate_reason: str = "",
) -> Change:
    """ "If I change an environment variable, save the old value"."""
    what = _required(what, "what changed", 300)
    where = _required(where, "where (a service, a system or a config key)", 200)
    old_value, new_value = _text(old_value, 5000), _text(new_value, 5000)
    if not (old_value or new_value):
        raise IncidentError("Give the old value or the new one (or both): that is what a restore needs.")
    how_to_restore = _text(how_to_restore, 2000)
    occurred_at, backdate_reason = _backdate(occurred_at, backdate_reason)
    incident = _open_incident(incident)
    _require_worker(incident, by)
    _own(hypothesis, incident, "hypothesis")
    _own(decision, incident, "decision")
    now = timezone.now()
    change = Change.objects.create(
        incident=incident,
        what=what,
        where=where,
        old_value=old_value,
        new_value=new_value,
        how_to_restore=how_to_restore,
        is_sensitive=bool(is_sensitive),
        hypothesis=hypothesis,
        decision=decision,
        recorded_by=by,
        occurred_at=occurred_at or now,
        recorded_at=now,
        backdate_reason=backdate_reason,
    )
    _record(
        incident,
        kind=Kind.CHANGE,
        body=_change_body(change),
        by=by,
        data={"change": change.pk, "state": change.state},
        occurred_at=occurred_at,
        backdate_reason=backdate_reason,
    )
    return change


def _settle(change: Change, state: str, by: AbstractBaseUser | None) -> None:
    change.state = state
    change.settled_by = by
    change.settled_at = timezone.now()
    change.save(update_fields=["state", "settled_by", "settled_at"])


@transaction.atomic
def change_restore(*, change: Change, by: AbstractBaseUser | None, note: str = "") -> Change:
    """Undo a change: the restore is a change of its own (new value back to the old one)."""
    incident = _open_incident(change.incident)
    _require_worker(incident, by)
    change = Change.objects.select_for_update().get(pk=change.pk)
    if not change.is_in_place:
        raise IncidentError("Only a change still in place can be restored.")
    note = _text(note, 2000)
    restore = Change.objects.create(
        incident=incident,
        what=change.what,
        where=change.where,
        old_value=change.new_value,
        new_value=change.old_value,
        how_to_restore=note,
        is_sensitive=change.is_sensitive,
        restores=change,
        hypothesis=change.hypothesis,
        decision=change.decision,
        recorded_by=by,
        state=Change.State.KEPT,
    )
    _settle(change, Change.State.REVERTED, by)
    body = _change_body(restore) + (f"\n\n{note}" if note else "")
    _record(
        incident,
        kind=Kind.CHANGE,
        body=body,
        by=by,
        data={"change": restore.pk, "restores": change.pk, "state": Change.State.REVERTED},
    )
    return restore


@transaction.atomic
def change_keep(*, change: Change, by: AbstractBaseUser | None, note: str = "") -> Change:
    """The change stays: it becomes the new normal (asked at resolution of a major incident)."""
    incident = incident_lock(change.incident)
    # Keeping it as the new normal is the IC's call at resolution (no proposal asks for it).
    require_decider(incident, by, proposable=False)
    change = Change.objects.select_for_update().get(pk=change.pk)
    if not change.is_in_place:
        raise IncidentError("Only a change still in place can be kept.")
    _settle(change, Change.State.KEPT, by)
    note = _text(note, 2000)
    body = f"Kept {change.what} ({change.where}) as it is." + (f"\n\n{note}" if note else "")
    _record(incident, kind=Kind.CHANGE, body=body, by=by, data={"change": change.pk, "state": change.state})
    return change


# --- Verification -------------------------------------------------------------------------------


@transaction.atomic
def verification_record(
    *, incident: Incident, by: AbstractBaseUser | None, checked: str, result: str = Verification.Result.PASSED
) -> Verification:
    """What was checked before the all-clear, and what it showed."""
    incident = _open_incident(incident)
    _require_worker(incident, by)
    checked = _text(checked, 5000)
    if not checked:
        raise IncidentError("Say what was checked, and how.")
    if result not in Verification.Result.values:
        raise IncidentError("A verification passed or failed.")
    verification = Verification.objects.create(
        incident=incident, checked=checked, result=result, checked_by=by
    )
    label = "Verified" if result == Verification.Result.PASSED else "Verification failed"
    _record(
        incident,
        kind=Kind.VERIFICATION,
        body=f"{label}: {checked}",
        by=by,
        data={"verification": verification.pk, "result": result},
    )
    return verification


# --- The rollback question ----------------------------------------------------------------------


@transaction.atomic
def rollback_question_answer(*, incident: Incident, by: AbstractBaseUser | None, answer: str) -> Incident:
    """ "Would a rollback fix this without causing other problems?" Even "no, because…" is an answer."""
    incident = incident_lock(incident)
    require_decider(incident, by, proposable=False)  # whether to roll back is the repair decision
    answer = _text(answer, 2000)
    if not answer:
        raise IncidentError("Answer the rollback question (even “no, because …”).")
    previous = incident.rollback_considered
    incident.rollback_considered = answer
    _record(
        incident,
        kind=Kind.DECISION,
        body=f"Would a rollback fix this? {answer}",
        by=by,
        data={"rollback_answer": True, "previous": previous},
        fields=("rollback_considered",),
    )
    return incident


# --- Where to join ------------------------------------------------------------------------------


def _contact_values(*, bridge_url: str, chat_channel: str, dashboards: str, runbooks: str) -> dict[str, str]:
    values = {
        "bridge_url": (bridge_url or "").strip(),
        "chat_channel": _one_line(chat_channel, 200),
        "dashboards": "\n".join(line.strip() for line in (dashboards or "").splitlines() if line.strip()),
        "runbooks": "\n".join(line.strip() for line in (runbooks or "").splitlines() if line.strip()),
    }
    if values["bridge_url"]:
        try:
            _url(values["bridge_url"])
        except ValidationError:
            raise IncidentError("The call bridge must be an http(s) URL.") from None
    try:
        for name in ("dashboards", "runbooks"):
            validate_link_lines(values[name])
    except ValidationError as error:
        raise IncidentError(" ".join(error.messages)) from None
    for name in ("dashboards", "runbooks"):
        if len(values[name]) > 4000:
            raise IncidentError(f"Keep the {name} to 4,000 characters.")
    if len(values["bridge_url"]) > 500:
        raise IncidentError("A bridge URL is at most 500 characters.")
    return values


@transaction.atomic
def incident_set_contacts(
    *,
    incident: Incident,
    by: AbstractBaseUser | None,
    bridge_url: str = "",
    chat_channel: str = "",
    dashboards: str = "",
    runbooks: str = "",
) -> Incident:
    """Where to join the call and the chat, and the dashboards and runbooks; the old ones are kept."""
    values = _contact_values(
        bridge_url=bridge_url, chat_channel=chat_channel, dashboards=dashboards, runbooks=runbooks
    )
    incident = incident_lock(incident)
    previous = {name: getattr(incident, name) for name in ContactLinks.CONTACT_FIELDS}
    if previous == values:
        return incident
    for name, value in values.items():
        setattr(incident, name, value)
    lines = ["Where to join changed:"]
    labels = {
        "bridge_url": "Call",
        "chat_channel": "Chat",
        "dashboards": "Dashboards",
        "runbooks": "Runbooks",
    }
    for name, value in values.items():
        if value != previous[name]:
            shown = value.replace("\n", ", ") if value else "none"
            lines.append(f"- {labels[name]}: {shown}")
    _record(
        incident,
        kind=Kind.NOTE,
        body="\n".join(lines),
        by=by,
        data={"contacts": values, "previous": previous},
        fields=tuple(values),
    )
    return incident


def contacts_inherit(*, incident: Incident, sources: list[ContactLinks]) -> list[str]:
    """Fill the incident's empty contact fields from its services' defaults (caller holds the lock).

    Returns the fields filled; the caller saves them with its own change.
    """
    filled = []
    for name in ContactLinks.CONTACT_FIELDS:
        if getattr(incident, name):
            continue
        value = next((getattr(source, name) for source in sources if getattr(source, name)), "")
        if value:
            setattr(incident, name, value)
            filled.append(name)
    return filled


# --- The ETA to fix ---------------------------------------------------------------------------

# An ETA further out than this is a typo, not an estimate.
ETA_MAX_DAYS = 30


def eta_text(moment: datetime | None) -> str:
    """An ETA as people read it, in the portal's time zone: "Nov 23, 14:30 UTC"."""
    if moment is None:
        return "none"
    local = timezone.localtime(moment)
    return f"{local:%b} {local.day}, {local:%H:%M} {local.tzname()}"


@transaction.atomic
def incident_set_eta(
    *, incident: Incident, by: AbstractBaseUser | None, eta: datetime | None, reason: str = ""
) -> Incident:
    """Set, move or clear the estimated time to fix; the entry keeps the previous value.

    MNX: "if you have an approximate ETA to fix, include that" in what customers are
    told; an ETA more than an hour away means calling them (the customers app reads
    `eta_set_at` for that). Anyone working the incident may give it; `None` clears it.
    """
    reason = _one_line(reason, 300)
    now = timezone.now()
    if eta is not None:
        if timezone.is_naive(eta):
            raise IncidentError("Give the ETA with its time zone.")
        if eta <= now:
            raise IncidentError("An ETA to fix is in the future.")
        if (eta - now).days >= ETA_MAX_DAYS:
            raise IncidentError(f"An ETA is at most {ETA_MAX_DAYS} days away: check the date.")
    incident = incident_lock(incident)
    if not incident.is_open:
        raise IncidentError("The incident is closed: there is nothing left to fix.")
    previous = incident.eta
    if previous == eta:
        return incident
    incident.eta = eta
    incident.eta_set_at = now
    if eta is None:
        body = f"ETA to fix cleared (was {eta_text(previous)})."
    elif previous is None:
        body = f"ETA to fix: {eta_text(eta)}."
    else:
        body = f"ETA to fix moved to {eta_text(eta)} (was {eta_text(previous)})."
    if reason:
        body += f" {reason}"
    _record(
        incident,
        kind=Kind.ETA,
        body=body,
        by=by,
        data={
            "eta": eta.isoformat() if eta else None,
            "previous": previous.isoformat() if previous else None,
            "reason": reason,
        },
        fields=("eta", "eta_set_at"),
    )
    return incident
