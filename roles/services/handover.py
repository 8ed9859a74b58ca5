"""Handing a role over with a note, and prompting holders to hand over when their working day ends."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from comms.models import Message
from incidents.models import Incident
from roles import permissions
from roles.models import SINGLE_HOLDER_ROLES, RoleAssignment
from roles.selectors import profile_for
from roles.services.assignments import role_assign_locked, role_release
from roles.services.common import (
    NotAllowed,
    RoleError,
    absolute_url,
    person_name,
    room_url,
    send_to,
    subject_for,
)

logger = logging.getLogger(__name__)


def handover_note_compose(*, current_state: str, tried: str, next_steps: str, hypotheses: str) -> str:
    parts = [
        ("Current state", current_state),
        ("What was tried", tried),
        ("What I would try next", next_steps),
        ("Open hypotheses", hypotheses),
    ]
    return "\n\n".join(f"**{title}:** {text.strip()}" for title, text in parts if text.strip())


@transaction.atomic
def handover_submit(
    *,
    assignment: RoleAssignment,
    new_holder: AbstractBaseUser,
    by: AbstractBaseUser,
    current_state: str,
    tried: str,
    next_steps: str,
    hypotheses: str = "",
) -> RoleAssignment:
    """Hand a role to someone else with a note: reassigns, records, and sends the note to them."""
    assignment = RoleAssignment.objects.select_related("incident", "user").get(pk=assignment.pk)
    incident = assignment.incident
    if by.pk != assignment.user_id and not permissions.may_assign_roles(by, permissions.holders_of(incident)):
        raise NotAllowed(
            "Only the holder, the Incident Commander, the Deputy or an admin can hand over a role."
        )
    if assignment.ended_at is not None:
        raise RoleError("That role was handed over already.")
    if new_holder.pk == assignment.user_id:
        raise RoleError("Hand over to someone else.")
    if not current_state.strip():
        raise RoleError("Describe the current state for the new holder.")
    note = handover_note_compose(
        current_state=current_state, tried=tried, next_steps=next_steps, hypotheses=hypotheses
    )
    if assignment.role in SINGLE_HOLDER_ROLES:
        new = role_assign_locked(
            incident=incident, role=assignment.role, user=new_holder, by=by, handover_note=note
        )
    else:
        new = role_assign_locked(incident=incident, role=assignment.role, user=new_holder, by=by)
        role_release(assignment=assignment, by=by, handover_note=note)
    send_to(
        kind="handover_note",
        subject=subject_for(
            incident, f"You are now {new.get_role_display()}: handover from {person_name(assignment.user)}"
        ),
        body=f"{person_name(assignment.user)} handed {new.get_role_display()} on {incident.reference} "
        f"\u201c{incident.title}\u201d over to you.\n\n{note}\n\nIncident room: {room_url(incident)}",
        to=[new_holder],
        incident=incident,
        dedup_key=f"handover-note:{new.pk}",
    )
    return new


def _day_ending(user: AbstractBaseUser, now: datetime):
    """The local date of the working day that is ending for this person now, or None."""
    profile = profile_for(user)
    local_today = now.astimezone(profile.tz).date()
    lead, window = (
        timedelta(minutes=settings.ROLES_HANDOVER_LEAD_MINUTES),
        timedelta(hours=settings.ROLES_HANDOVER_WINDOW_HOURS),
    )
    for day in (local_today, local_today - timedelta(days=1)):
        end = profile.working_day_end(day)
        if end is not None and end - lead <= now < end + window:
            return day
    return None


def handover_prompts_send(*, now: datetime | None = None) -> int:
    """Prompt every role holder whose working day ends to hand over; once per person and day."""
    now = now or timezone.now()
    assignments = (
        RoleAssignment.objects.filter(ended_at__isnull=True, incident__status__in=Incident.OPEN_STATUSES)
        .select_related("incident", "user", "user__profile")
        .order_by("user_id", "incident__number")
    )
    by_user: dict[int, list[RoleAssignment]] = {}
    for assignment in assignments:
        by_user.setdefault(assignment.user_id, []).append(assignment)
    sent = 0
    for held in by_user.values():
        user = held[0].user
        day = _day_ending(user, now)
        if day is None or not user.is_active:
            continue
        dedup_key = f"handover-prompt:{user.pk}:{day.isoformat()}"
        lines = [
            "Your working day is ending and you still hold a role on an open incident. "
            "Keep a cool head: find a new owner and tell them what you would have tried next.",
            "",
        ]
        for assignment in held:
            url = absolute_url(
                reverse(
                    "roles:handover",
                    kwargs={"number": assignment.incident.number, "assignment_id": assignment.pk},
                )
            )
            lines.append(
                f"- {assignment.get_role_display()} on {assignment.incident.reference} "
                f"\u201c{assignment.incident.title}\u201d: hand over at {url}"
            )
        if Message.objects.filter(dedup_key=dedup_key).exists():
            continue  # prompted already for this working day
        try:
            with transaction.atomic():
                send_to(
                    kind="handover_prompt",
                    subject=f"Time to hand over: you hold {len(held)} incident role{'s' * (len(held) > 1)}",
                    body="\n".join(lines),
                    to=[user],
                    incident=held[0].incident if len(held) == 1 else None,
                    dedup_key=dedup_key,
                    context={"assignments": [a.pk for a in held]},
                )
        except RoleError:
            logger.warning("Handover prompt for user %s not sent", user.pk, exc_info=True)
            continue
        sent += 1
    return sent
