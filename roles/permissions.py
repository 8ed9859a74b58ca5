"""Who may do what with an incident's roles, pages and executive summaries, written once.

Each rule decides from the incident's current role holders. The room has read
them already (and passes them in); services and the API read them with
holders_of(). Admins may do everything here.
"""

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from comms import permissions as comms_permissions
from incidents import permissions as incident_permissions
from incidents.models import Incident
from incidents.permissions import is_active, is_admin
from incidents.selectors import incidents_visible_to
from roles.models import (
    CalendarFeed,
    IncidentRole,
    LayerMember,
    Proposal,
    RoleAssignment,
    Schedule,
    ShiftSwap,
    Workstream,
)

Person = AbstractBaseUser | AnonymousUser

# Those who staff an incident: assign, release and hand over others' roles.
STAFFING_ROLES = (IncidentRole.INCIDENT_COMMANDER, IncidentRole.DEPUTY)


def holders_of(incident: Incident) -> list[RoleAssignment]:
    return list(RoleAssignment.objects.filter(incident=incident, ended_at__isnull=True))


def _holds(user: Person, holders: Sequence[RoleAssignment], roles: Sequence[str]) -> bool:
    return any(a.user_id == user.pk and a.role in roles for a in holders)


def _holder(holders: Sequence[RoleAssignment], role: str) -> RoleAssignment | None:
    return next((a for a in holders if a.role == role), None)


def may_assign_roles(user: Person, holders: Sequence[RoleAssignment]) -> bool:
    """The current IC, the deputy and admins staff an incident."""
    if not is_active(user):
        return False
    return is_admin(user) or _holds(user, holders, STAFFING_ROLES)


def may_send_executive_summary(user: Person, holders: Sequence[RoleAssignment]) -> bool:
    """The internal liaison sends executive summaries; the IC when nobody holds that role."""
    if not is_active(user):
        return False
    if is_admin(user):
        return True
    liaison = _holder(holders, IncidentRole.INTERNAL_LIAISON)
    if liaison is not None:
        return liaison.user_id == user.pk
    return _holds(user, holders, [IncidentRole.INCIDENT_COMMANDER])


def has_commander(holders: Sequence[RoleAssignment]) -> bool:
    return _holder(holders, IncidentRole.INCIDENT_COMMANDER) is not None


def decides(user: Person, incident: Incident, holders: Sequence[RoleAssignment] | None = None) -> bool:
    """The rule incidents.permissions.may_decide asks (registered in roles/apps.py): while an IC
    is assigned, only the IC and the deputy decide (admins always may: incidents checks that)."""
    holders = holders_of(incident) if holders is None else holders
    if not has_commander(holders):
        return True
    return is_active(user) and _holds(user, holders, STAFFING_ROLES)


def may_give_role(
    user: Person,
    *,
    role: str,
    to: AbstractBaseUser,
    holders: Sequence[RoleAssignment],
    may_command: bool,
) -> bool:
    """Who may put a person in a role. Taking a role is not a back door:

    - the IC, the deputy and admins give any role to anyone;
    - taking the Incident Commander role yourself needs `may_command` (on an IC
      schedule, or a trained incident commander: roles.selectors.may_command),
      and nobody holding it;
    - another role is taken by oneself only while no IC is assigned.
    """
    if not is_active(user):
        return False
    if is_admin(user) or _holds(user, holders, STAFFING_ROLES):
        return True
    if to.pk != user.pk:
        return False
    if role == IncidentRole.INCIDENT_COMMANDER:
        return may_command and not has_commander(holders)
    return not has_commander(holders)


def may_assign_task(user: Person, holders: Sequence[RoleAssignment], *, lead_of: bool = False) -> bool:
    """The IC, the deputy, admins (anyone while no IC is assigned), or the lead inside a workstream."""
    if not is_active(user):
        return False
    return lead_of or is_admin(user) or not has_commander(holders) or _holds(user, holders, STAFFING_ROLES)


def may_propose_in_workstream(
    user: Person, incident: Incident, workstream: Workstream, holders: Sequence[RoleAssignment] | None = None
) -> bool:
    """Tagging a proposal to a workstream: its lead and members, and whoever decides for the
    incident (they may file a proposal under a sub-team). An outsider to the sub-team proposes
    to the IC untagged. A closed workstream takes no proposals."""
    if not is_active(user) or workstream.incident_id != incident.pk or workstream.closed_at is not None:
        return False
    if workstream.lead_id == user.pk or incident_permissions.may_decide(user, incident, holders):
        return True
    return workstream.members.filter(pk=user.pk).exists()


# What a workstream's lead may approve among its members' proposals: work inside the sub-team.
# The status, the severity and the repair decision (a rollback above all) act on the whole
# incident, so they stay the IC's and the deputy's even when tagged to a workstream.
LEAD_ANSWERS = (Proposal.Action.TASK,)


def may_answer_proposal(
    user: Person, incident: Incident, proposal: Proposal, holders: Sequence[RoleAssignment] | None = None
) -> bool:
    """Approve or reject: whoever decides for the incident, or the lead of the (open) workstream the
    proposal is tagged to, for a kind within the workstream's reach (LEAD_ANSWERS)."""
    return incident_permissions.may_decide(user, incident, holders) or leads_proposal(user, proposal)


def leads_proposal(user: Person, proposal: Proposal) -> bool:
    """The lead's part of may_answer_proposal, for a caller that knows may_decide already."""
    workstream = proposal.workstream
    return (
        is_active(user)
        and workstream is not None
        and workstream.closed_at is None
        and workstream.lead_id == user.pk
        and proposal.action in LEAD_ANSWERS
    )


def may_manage_participants(user: Person, holders: Sequence[RoleAssignment]) -> bool:
    """Who is let into a restricted incident, and out: its Incident Commander and admins."""
    return is_active(user) and (is_admin(user) or _holds(user, holders, [IncidentRole.INCIDENT_COMMANDER]))


def may_read_incident_outbox(user: Person, holders: Sequence[RoleAssignment]) -> bool:
    """The incident's messages in the outbox: its commander, and whoever may read the whole outbox."""
    if not is_active(user):
        return False
    return _holds(
        user, holders, [IncidentRole.INCIDENT_COMMANDER]
    ) or comms_permissions.may_read_whole_outbox(user)


def commanded_incidents(user: Person) -> QuerySet[Incident]:
    """The incidents this person commands now and can see: theirs to read in the outbox."""
    if not is_active(user):
        return Incident.objects.none()
    commands = RoleAssignment.objects.filter(
        user=user, role=IncidentRole.INCIDENT_COMMANDER, ended_at__isnull=True
    ).values("incident_id")
    return incidents_visible_to(user).filter(pk__in=commands)


# --- On-call calendar: swaps and feeds -------------------------------------------------------------


def may_edit_notification_rules(by: Person, owner: AbstractBaseUser) -> bool:
    # A person's own rules; an admin edits anyone's (in the admin).
    return is_active(by) and (by.pk == owner.pk or by.is_superuser)


def may_request_swap(user: Person) -> bool:
    """Any active responder asks for cover of their own shift (the service checks it is theirs)."""
    return is_active(user)


def may_answer_swap(user: Person, swap: ShiftSwap) -> bool:
    """Accepting or declining is the asked colleague's, and nobody else's: it puts them on call."""
    return is_active(user) and swap.colleague_id == user.pk


def may_cancel_swap(user: Person, swap: ShiftSwap) -> bool:
    return is_active(user) and (swap.requester_id == user.pk or is_admin(user))


def is_on_schedule(user: Person, schedule: Schedule) -> bool:
    """In one of its rotations, or in the team it belongs to."""
    if not is_active(user):
        return False
    if LayerMember.objects.filter(layer__schedule=schedule, user=user).exists():
        return True
    return schedule.team_id is not None and schedule.team.members.filter(pk=user.pk).exists()


def may_issue_feed(
    user: Person, *, user_feed: AbstractBaseUser | None = None, schedule: Schedule | None = None
) -> bool:
    """A person's feed is theirs alone. A schedule's address is made by anyone who signs in (they
    all see the calendar); a new one, which breaks everyone's subscription, by its people and admins."""
    if not is_active(user):
        return False
    if user_feed is not None:
        return user_feed.pk == user.pk
    if schedule is None:
        return False
    exists = CalendarFeed.objects.filter(schedule=schedule).exists()
    return not exists or is_admin(user) or is_on_schedule(user, schedule)
