from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from incidents.models import Incident, Participation, TimelineEntry
from incidents.services import IncidentError, timeline_record
from roles.models import SINGLE_HOLDER_ROLES, IncidentRole, RoleAssignment


def _name(user: AbstractBaseUser) -> str:
    return user.get_full_name() or user.get_username()


@transaction.atomic
def role_assign(
    *,
    incident: Incident,
    role: str,
    user: AbstractBaseUser,
    by: AbstractBaseUser | None,
    handover_note: str = "",
) -> RoleAssignment:
    """Give someone a role; for a single-holder role the current holder hands over."""
    if role not in IncidentRole.values:
        raise IncidentError(f"{role!r} is not an incident role.")
    if not user.is_active:
        raise IncidentError(f"{_name(user)} is not an active user and cannot hold a role.")
    if not incident.is_open:
        raise IncidentError("Roles are held on open incidents only.")
    label = IncidentRole(role).label
    current = RoleAssignment.objects.select_for_update().filter(
        incident=incident, role=role, ended_at__isnull=True
    )
    if current.filter(user=user).exists():
        raise IncidentError(f"{_name(user)} is {label} already.")
    now = timezone.now()
    previous = None
    if role in SINGLE_HOLDER_ROLES:
        previous = current.first()
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
        raise IncidentError(f"Someone else was made {label} just now; reload and try again.") from None
    body = f"{_name(user)} is now {label}"
    if previous is not None:
        body += f", taking over from {_name(previous.user)}"
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


@transaction.atomic
def role_release(
    *, assignment: RoleAssignment, by: AbstractBaseUser | None, handover_note: str = ""
) -> RoleAssignment:
    assignment = RoleAssignment.objects.select_for_update().get(pk=assignment.pk)
    if assignment.ended_at is not None:
        raise IncidentError("That role was released already.")
    assignment.ended_at = timezone.now()
    assignment.handover_note = handover_note
    assignment.save(update_fields=["ended_at", "handover_note"])
    timeline_record(
        incident=assignment.incident,
        kind=TimelineEntry.Kind.ROLE,
        body=f"{_name(assignment.user)} is no longer {assignment.get_role_display()}",
        author=by,
        data={"role": assignment.role, "user": assignment.user_id, "released": True},
    )
    return assignment
