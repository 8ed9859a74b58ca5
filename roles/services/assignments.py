"""Incident roles: assigning and releasing them, and ticking off a holder's checklist.

Who may assign is checked here, under the incident's lock (see role_assign_locked).
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from incidents.models import Incident, Participation, TimelineEntry
from incidents.services import timeline_record
from roles import permissions, selectors
from roles.checklists import checklist_for
from roles.models import SINGLE_HOLDER_ROLES, IncidentRole, RoleAssignment
from roles.services.common import NotAllowed, RoleError, person_name


@transaction.atomic
def role_assign(
    *,
    incident: Incident,
    role: str,
    user: AbstractBaseUser,
    by: AbstractBaseUser | None,
    handover_note: str = "",
) -> RoleAssignment:
    """Give someone a role; for a single-holder role the current holder hands over.

    Who may: the current IC, the deputy and admins; anyone may take a role
    nobody holds (and join as a subject-matter expert). `by=None` is the
    portal itself (demo data, the API acting for an admin, an acknowledged page).
    """
    return role_assign_locked(
        incident=incident, role=role, user=user, by=by, handover_note=handover_note, check_permission=True
    )


def role_assign_locked(
    *,
    incident: Incident,
    role: str,
    user: AbstractBaseUser,
    by: AbstractBaseUser | None,
    handover_note: str = "",
    check_permission: bool = False,
) -> RoleAssignment:
    if role not in IncidentRole.values:
        raise RoleError(f"{role!r} is not an incident role.")
    if not user.is_active:
        raise RoleError(f"{person_name(user)} is not an active user and cannot hold a role.")
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if not incident.is_open:
        raise RoleError("Roles are held on open incidents only.")
    label = IncidentRole(role).label
    current = RoleAssignment.objects.select_for_update().filter(
        incident=incident, role=role, ended_at__isnull=True
    )
    if current.filter(user=user).exists():
        raise RoleError(f"{person_name(user)} is {label} already.")
    # Checked under the incident's lock: of two people taking an empty role at
    # the same moment, the second finds it held.
    if check_permission and by is not None:
        holders = permissions.holders_of(incident)
        may_command = (
            role == IncidentRole.INCIDENT_COMMANDER and user.pk == by.pk and selectors.may_command(by)
        )
        if not permissions.may_give_role(by, role=role, to=user, holders=holders, may_command=may_command):
            raise NotAllowed(_refusal(role, by, user, holders))
    now = timezone.now()
    previous = None
    if role in SINGLE_HOLDER_ROLES:
        previous = current.select_for_update(of=("self",)).select_related("user").first()
        if previous is not None:
            previous.ended_at = now
            previous.handover_note = handover_note
            previous.save(update_fields=["ended_at", "handover_note"])
    try:
        with transaction.atomic():
            assignment = RoleAssignment.objects.create(
                incident=incident, role=role, user=user, assigned_by=by, started_at=now
            )
    except IntegrityError:
        raise RoleError(f"Someone else was made {label} just now; reload and try again.") from None
    body = f"{person_name(user)} is now {label}"
    if previous is not None:
        body += f", taking over from {person_name(previous.user)}"
    if handover_note.strip():
        body += f"\n\nHandover: {handover_note.strip()}"
    timeline_record(
        incident=incident,
        kind=TimelineEntry.Kind.ROLE,
        body=body,
        author=by,
        data={"role": role, "user": user.pk, "previous": previous.user_id if previous else None},
    )
    Participation.objects.get_or_create(incident=incident, user=user)
    return assignment


def _refusal(role: str, by: AbstractBaseUser, user: AbstractBaseUser, holders) -> str:
    if user.pk != by.pk:
        return "Only the Incident Commander, the Deputy or an admin gives roles to others."
    if role == IncidentRole.INCIDENT_COMMANDER:
        if permissions.has_commander(holders):
            return "There is an Incident Commander already: they hand over."
        return (
            "Taking command needs a place on an Incident Commander schedule or being marked a trained "
            "incident commander: page the on-call IC instead."
        )
    return "While an Incident Commander is assigned, they (or the Deputy) give the roles: ask them."


@transaction.atomic
def role_release(
    *, assignment: RoleAssignment, by: AbstractBaseUser | None, handover_note: str = ""
) -> RoleAssignment:
    """End an assignment. The holder may step down; the IC, the deputy and admins may release anyone."""
    assignment = (
        RoleAssignment.objects.select_for_update(of=("self",))
        .select_related("user", "incident")
        .get(pk=assignment.pk)
    )
    if (
        by is not None
        and by.pk != assignment.user_id
        and not permissions.may_assign_roles(by, permissions.holders_of(assignment.incident))
    ):
        raise NotAllowed(
            "Only the holder, the Incident Commander, the Deputy or an admin can release a role."
        )
    if assignment.ended_at is not None:
        raise RoleError("That role was released already.")
    assignment.ended_at = timezone.now()
    assignment.handover_note = handover_note
    assignment.save(update_fields=["ended_at", "handover_note"])
    body = f"{person_name(assignment.user)} is no longer {assignment.get_role_display()}"
    if handover_note.strip():
        body += f"\n\nHandover: {handover_note.strip()}"
    timeline_record(
        incident=assignment.incident,
        kind=TimelineEntry.Kind.ROLE,
        body=body,
        author=by,
        data={"role": assignment.role, "user": assignment.user_id, "released": True},
    )
    return assignment


@transaction.atomic
def checklist_tick(
    *, assignment: RoleAssignment, item: str, done: bool, by: AbstractBaseUser
) -> RoleAssignment:
    """Tick (or untick) one item of the holder's own checklist."""
    assignment = (
        RoleAssignment.objects.select_for_update(of=("self",))
        .select_related("incident")
        .get(pk=assignment.pk)
    )
    if assignment.user_id != by.pk:
        raise NotAllowed("Only the holder ticks off a role's checklist.")
    if assignment.ended_at is not None:
        raise RoleError("That role was handed over; its checklist is closed.")
    checklist = checklist_for(assignment.role, security=assignment.incident.is_security)
    if item not in checklist.keys:
        raise RoleError("That is not an item of this role's checklist.")
    ticked = [key for key in assignment.checklist_done if key in checklist.keys and key != item]
    if done:
        ticked.append(item)
    assignment.checklist_done = [i.key for i in checklist.items if i.key in ticked]
    assignment.save(update_fields=["checklist_done"])
    return assignment
