"""Proposals: "announce all suggestions for resolution to the incident commander, it is their decision".

While an Incident Commander is assigned, the decisions (status, severity,
resolve and decline, the repair decision, publishing) are the IC's and the
deputy's. Everyone else proposes: a timeline entry with the action, the reason
and the proposer, and an in-app notification to the IC. Approving performs the
action through the same service, as the approver; rejecting says why.

A proposal may be tagged to a workstream (by its lead, its members or a
decider). Its lead then answers the members' proposals of work inside the
sub-team (a task: permissions.LEAD_ANSWERS); what acts on the whole incident
(status, severity, the repair decision) stays the IC's. Every entry about a
tagged proposal carries data.workstream, so it shows in the workstream's slice.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from incidents import presence
from incidents.models import Decision, Incident, Severity, TimelineEntry
from incidents.services import (
    IncidentError,
    incident_change_severity,
    incident_change_status,
    incident_lock,
    timeline_record,
)
from incidents.services.tools import decision_record
from roles import permissions
from roles.models import Proposal, Workstream
from roles.services.common import NotAllowed, RoleError, person_name, room_url, send_to, subject_for
from roles.services.tasks import task_assign

Action = Proposal.Action


def describe(action: str, payload: dict) -> str:
    """A proposal in a few words: "Raise the severity to SEV-1", "Roll back to 4.1.9"."""
    if action == Action.STATUS:
        return f"Move the status to {Incident.Status(payload['status']).label.lower()}"
    if action == Action.SEVERITY:
        return f"Change the severity to {Severity(payload['severity']).label}"
    if action == Action.DECISION:
        kind = Decision.Kind(payload["kind"]).label.lower()
        text = f"Decide a {kind}: {payload['summary']}"
        return text + (f" (back to {payload['rollback_to']})" if payload.get("rollback_to") else "")
    if action == Action.TASK:
        return f"Give {payload['assignee_name']} a task: {payload['title']}"
    return Proposal.Action(action).label


def _clean_payload(action: str, payload: dict, *, by: AbstractBaseUser) -> dict:
    """Only what the action needs, checked for shape; the service checks meaning when approved."""
    if action == Action.STATUS:
        if payload.get("status") not in Incident.Status.values:
            raise RoleError("Propose one of the statuses.")
        return {"status": payload["status"]}
    if action == Action.SEVERITY:
        try:
            severity = int(payload.get("severity"))
        except (TypeError, ValueError):
            severity = 0
        if severity not in Severity.values:
            raise RoleError("Propose a severity from SEV-1 to SEV-5.")
        return {"severity": severity}
    if action == Action.DECISION:
        if payload.get("kind") not in Decision.Kind.values:
            raise RoleError("Propose a fix, a patch, a workaround or a rollback.")
        summary = " ".join(str(payload.get("summary") or "").split())[:300]
        if not summary:
            raise RoleError("Say what the decision would be.")
        rollback_to = " ".join(str(payload.get("rollback_to") or "").split())[:300]
        if payload["kind"] == Decision.Kind.ROLLBACK and not rollback_to:
            raise RoleError("Say what the rollback would go back to.")
        return {"kind": payload["kind"], "summary": summary, "rollback_to": rollback_to}
    if action == Action.TASK:
        title = " ".join(str(payload.get("title") or "").split())[:300]
        if not title:
            raise RoleError("Say what the task would be.")
        # For whom: someone named, or the proposer ("let me take this").
        assignee = payload.get("assignee") or by.pk
        try:
            person = get_user_model().objects.get(pk=int(assignee), is_active=True)
        except (TypeError, ValueError, get_user_model().DoesNotExist):
            raise RoleError("Propose the task for someone who works here.") from None
        # The name is kept so the room describes the proposal without a read per proposal.
        return {"title": title, "assignee": person.pk, "assignee_name": person_name(person)}
    raise RoleError("That is not something to propose.")


@transaction.atomic
def proposal_make(
    *,
    incident: Incident,
    by: AbstractBaseUser,
    action: str,
    payload: dict,
    reason: str,
    workstream: Workstream | None = None,
) -> Proposal:
    incident = incident_lock(incident)
    if not incident.is_open and action != Action.STATUS:
        raise RoleError("The incident is closed: reopen it first.")
    reason = (reason or "").strip()
    if not reason:
        raise RoleError("Say why: the IC decides on your reason.")
    if len(reason) > 2000:
        raise RoleError("Keep the reason to 2,000 characters.")
    if action not in Action.values:
        raise RoleError("That is not something to propose.")
    payload = _clean_payload(action, payload or {}, by=by)
    if workstream is not None:
        if workstream.incident_id != incident.pk:
            raise RoleError("That workstream belongs to another incident.")
        if not permissions.may_propose_in_workstream(by, incident, workstream):
            raise NotAllowed(
                f"Only the members of {workstream.name}, its lead and the IC file proposals under it."
            )
    proposal = Proposal.objects.create(
        incident=incident,
        action=action,
        payload=payload,
        reason=reason,
        proposed_by=by,
        workstream=workstream,
    )
    what = describe(action, payload)
    timeline_record(
        incident=incident,
        kind=TimelineEntry.Kind.PROPOSAL,
        body=f"Proposes: {what}\n\n{reason}",
        author=by,
        data=_entry_data(proposal, action=action),
    )
    deciders = _deciders(incident, workstream)
    to = [person for person in deciders if person.pk != by.pk]
    if to:
        send_to(
            kind="other",
            subject=subject_for(incident, f"Proposal from {person_name(by)}: {what}"),
            body=f"{person_name(by)} proposes: {what}\n\n{reason}\n\nApprove or reject it in the room: "
            f"{room_url(incident)}",
            to=to,
            incident=incident,
            dedup_key=f"proposal:{proposal.pk}",
        )
    return proposal


def _entry_data(proposal: Proposal, **extra) -> dict:
    """A proposal's timeline entry; tagged to its workstream, if any, for the workstream's slice."""
    data = {"proposal": proposal.pk, "state": proposal.state, **extra}
    if proposal.workstream_id is not None:
        data["workstream"] = proposal.workstream_id
    return data


def _deciders(incident: Incident, workstream: Workstream | None) -> list[AbstractBaseUser]:
    """Who hears of a proposal: the IC and the deputy (and the workstream's lead for its members')."""
    holders = permissions.holders_of(incident)
    people = [a.user for a in holders if a.role in permissions.STAFFING_ROLES]
    if workstream is not None and workstream.lead_id not in {p.pk for p in people}:
        people.append(workstream.lead)
    return people


def _lock_open(proposal: Proposal) -> tuple[Incident, Proposal]:
    incident = incident_lock(proposal.incident)
    proposal = (
        Proposal.objects.select_for_update(of=("self",)).select_related("workstream").get(pk=proposal.pk)
    )
    if not proposal.is_open:
        raise RoleError(f"The proposal is {proposal.get_state_display().lower()} already.")
    return incident, proposal


def _open_workstream(proposal: Proposal) -> Workstream | None:
    # A workstream closed since the proposal: the task goes to the incident as a whole.
    workstream = proposal.workstream
    return workstream if workstream is not None and workstream.closed_at is None else None


def _who_answers(proposal: Proposal, verb: str) -> str:
    if proposal.workstream is not None and proposal.action in permissions.LEAD_ANSWERS:
        return f"Only the Incident Commander, the deputy or the lead of {proposal.workstream.name} {verb} it."
    return f"Only the Incident Commander or the deputy {verb} proposals."


@transaction.atomic
def proposal_approve(*, proposal: Proposal, by: AbstractBaseUser, note: str = "") -> Proposal:
    """Do what was proposed, through the same service, as the person approving it."""
    incident, proposal = _lock_open(proposal)
    if not permissions.may_answer_proposal(by, incident, proposal):
        raise NotAllowed(_who_answers(proposal, "approves"))
    payload = proposal.payload
    reason = f"Proposed by {person_name(proposal.proposed_by)}: {proposal.reason}"
    try:
        if proposal.action == Action.STATUS:
            incident_change_status(incident=incident, status=payload["status"], by=by, note=reason)
        elif proposal.action == Action.SEVERITY:
            incident_change_severity(incident=incident, severity=payload["severity"], by=by, note=reason)
        elif proposal.action == Action.DECISION:
            decision_record(
                incident=incident,
                by=by,
                kind=payload["kind"],
                summary=payload["summary"],
                reason=proposal.reason,
                rollback_to=payload.get("rollback_to", ""),
                workstream=proposal.workstream_id,
            )
        elif proposal.action == Action.TASK:
            assignee = get_user_model().objects.filter(pk=payload["assignee"]).first()
            if assignee is None:
                raise RoleError("The person it was proposed for is gone.")
            task_assign(
                incident=incident,
                by=by,
                title=payload["title"],
                assignee=assignee,
                workstream=_open_workstream(proposal),
                in_room=presence.is_present(incident.pk, assignee.pk),
            )
        else:
            raise RoleError(
                "Publish it from the status page form: a proposal cannot write the update for you."
            )
    except IncidentError as error:
        raise RoleError(f"Approving it failed, nothing was done: {error}") from None
    proposal.state = Proposal.State.APPROVED
    proposal.decided_by, proposal.decided_at, proposal.answer = (
        by,
        timezone.now(),
        (note or "").strip()[:2000],
    )
    proposal.save(update_fields=["state", "decided_by", "decided_at", "answer"])
    timeline_record(
        incident=incident,
        kind=TimelineEntry.Kind.PROPOSAL,
        body=f"Approved: {describe(proposal.action, payload)}"
        + (f"\n\n{proposal.answer}" if proposal.answer else ""),
        author=by,
        data=_entry_data(proposal),
    )
    return proposal


@transaction.atomic
def proposal_reject(*, proposal: Proposal, by: AbstractBaseUser, reason: str) -> Proposal:
    incident, proposal = _lock_open(proposal)
    if not permissions.may_answer_proposal(by, incident, proposal):
        raise NotAllowed(_who_answers(proposal, "rejects"))
    reason = (reason or "").strip()
    if not reason:
        raise RoleError("Say why it is rejected: the proposer learns from it.")
    proposal.state = Proposal.State.REJECTED
    proposal.decided_by, proposal.decided_at, proposal.answer = by, timezone.now(), reason[:2000]
    proposal.save(update_fields=["state", "decided_by", "decided_at", "answer"])
    timeline_record(
        incident=incident,
        kind=TimelineEntry.Kind.PROPOSAL,
        body=f"Rejected: {describe(proposal.action, proposal.payload)}\n\n{proposal.answer}",
        author=by,
        data=_entry_data(proposal),
    )
    return proposal


@transaction.atomic
def proposal_withdraw(*, proposal: Proposal, by: AbstractBaseUser) -> Proposal:
    incident, proposal = _lock_open(proposal)
    if proposal.proposed_by_id != by.pk:
        raise NotAllowed("Only who proposed it withdraws a proposal.")
    proposal.state = Proposal.State.WITHDRAWN
    proposal.decided_by, proposal.decided_at = by, timezone.now()
    proposal.save(update_fields=["state", "decided_by", "decided_at"])
    timeline_record(
        incident=incident,
        kind=TimelineEntry.Kind.PROPOSAL,
        body=f"Withdrawn: {describe(proposal.action, proposal.payload)}",
        author=by,
        data=_entry_data(proposal),
    )
    return proposal
