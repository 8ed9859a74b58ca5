"""Proposals: "announce all suggestions for resolution to the incident commander, it is their decision".

While an Incident Commander is assigned, the decisions (status, severity,
resolve and decline, the repair decision, publishing) are the IC's and the
deputy's. Everyone else proposes: a timeline entry with the action, the reason
and the proposer, and an in-app notification to the IC. Approving performs the
action through the same service, as the approver; rejecting says why.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from incidents import permissions as incident_permissions
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
    return Proposal.Action(action).label


def _clean_payload(action: str, payload: dict) -> dict:
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
    payload = _clean_payload(action, payload or {})
    if workstream is not None and workstream.incident_id != incident.pk:
        raise RoleError("That workstream belongs to another incident.")
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
        data={"proposal": proposal.pk, "state": proposal.state, "action": action},
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


@transaction.atomic
def proposal_approve(*, proposal: Proposal, by: AbstractBaseUser, note: str = "") -> Proposal:
    """Do what was proposed, through the same service, as the person approving it."""
    incident, proposal = _lock_open(proposal)
    if not incident_permissions.may_decide(by, incident):
        raise NotAllowed("Only the Incident Commander or the deputy approves proposals.")
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
        data={"proposal": proposal.pk, "state": proposal.state},
    )
    return proposal


@transaction.atomic
def proposal_reject(*, proposal: Proposal, by: AbstractBaseUser, reason: str) -> Proposal:
    incident, proposal = _lock_open(proposal)
    if not incident_permissions.may_decide(by, incident):
        raise NotAllowed("Only the Incident Commander or the deputy rejects proposals.")
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
        data={"proposal": proposal.pk, "state": proposal.state},
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
        data={"proposal": proposal.pk, "state": proposal.state},
    )
    return proposal
