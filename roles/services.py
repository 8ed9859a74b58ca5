"""Every change to roles, pages, handovers and executive summaries goes through here.

Each service checks who may do it and what state allows it, writes the row and
its timeline entry in one transaction (incidents.services.timeline_record), and
sends messages only through comms.message_send in that same transaction, so
that a refused or rolled-back change sends nothing.
"""

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from comms.models import Channel, Message
from comms.services import CommsError, Recipient, message_send, recipients_for_user
from incidents.models import Incident, Participation, Severity, TimelineEntry
from incidents.services import IncidentError, timeline_record
from roles import conf
from roles.checklists import checklist_for
from roles.models import (
    SINGLE_HOLDER_ROLES,
    ExecutiveSummary,
    IncidentRole,
    Page,
    RoleAssignment,
    Schedule,
    Service,
    Team,
)
from roles.selectors import (
    current_holder,
    is_out_of_office,
    may_assign_roles,
    oncall_at,
    profile_for,
    rotation_after,
)

logger = logging.getLogger(__name__)
User = get_user_model()


class RoleError(IncidentError):
    """A roles change the rules do not allow; the message is meant for a person."""


class NotAllowed(RoleError):
    """The person asking may not do this (a 403 for the API)."""


def _name(user: AbstractBaseUser | None) -> str:
    if user is None:
        return "Coolhead"
    return user.get_full_name() or user.get_username()


def _absolute(path: str) -> str:
    return settings.SITE_URL + path


# --- Incident roles ---------------------------------------------------------------------------


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
    return _role_assign(
        incident=incident, role=role, user=user, by=by, handover_note=handover_note, check_permission=True
    )


def _role_assign(
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
        raise RoleError(f"{_name(user)} is not an active user and cannot hold a role.")
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if not incident.is_open:
        raise RoleError("Roles are held on open incidents only.")
    label = IncidentRole(role).label
    current = RoleAssignment.objects.select_for_update().filter(
        incident=incident, role=role, ended_at__isnull=True
    )
    if current.filter(user=user).exists():
        raise RoleError(f"{_name(user)} is {label} already.")
    # Checked under the incident's lock: of two people taking an empty role at
    # the same moment, the second finds it held.
    if check_permission and by is not None and not may_assign_roles(incident=incident, user=by):
        taking_empty_role = user.pk == by.pk and (
            role == IncidentRole.SUBJECT_MATTER_EXPERT or not current.exists()
        )
        if not taking_empty_role:
            raise NotAllowed(
                "Only the Incident Commander, the Deputy or an admin can assign roles; "
                "you may take a role nobody holds."
            )
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
    """End an assignment. The holder may step down; the IC, the deputy and admins may release anyone."""
    assignment = (
        RoleAssignment.objects.select_for_update(of=("self",))
        .select_related("user", "incident")
        .get(pk=assignment.pk)
    )
    if (
        by is not None
        and by.pk != assignment.user_id
        and not may_assign_roles(incident=assignment.incident, user=by)
    ):
        raise NotAllowed(
            "Only the holder, the Incident Commander, the Deputy or an admin can release a role."
        )
    if assignment.ended_at is not None:
        raise RoleError("That role was released already.")
    assignment.ended_at = timezone.now()
    assignment.handover_note = handover_note
    assignment.save(update_fields=["ended_at", "handover_note"])
    body = f"{_name(assignment.user)} is no longer {assignment.get_role_display()}"
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
    assignment = RoleAssignment.objects.select_for_update().get(pk=assignment.pk)
    if assignment.user_id != by.pk:
        raise NotAllowed("Only the holder ticks off a role's checklist.")
    if assignment.ended_at is not None:
        raise RoleError("That role was handed over; its checklist is closed.")
    checklist = checklist_for(assignment.role)
    if item not in checklist.keys:
        raise RoleError("That is not an item of this role's checklist.")
    ticked = [key for key in assignment.checklist_done if key in checklist.keys and key != item]
    if done:
        ticked.append(item)
    assignment.checklist_done = [i.key for i in checklist.items if i.key in ticked]
    assignment.save(update_fields=["checklist_done"])
    return assignment


# --- Reaching people ------------------------------------------------------------------------


def personal_webhook_channel() -> Channel:
    """The channel personal webhooks travel on: Slack-style JSON to each person's own URL."""
    channel, _ = Channel.objects.get_or_create(
        slug="personal-webhook",
        defaults={"name": "Personal webhooks (URL in each profile)", "kind": Channel.Kind.SLACK},
    )
    return channel


def recipients_for(user: AbstractBaseUser) -> list[Recipient]:
    """In-app, e-mail, and the person's own webhook when their profile has one."""
    recipients = recipients_for_user(user)
    url = profile_for(user).webhook_url
    if url:
        recipients.append(Recipient(channel=personal_webhook_channel(), address=url, user=user))
    return recipients


def _send(
    *,
    kind: str,
    subject: str,
    body: str,
    to: Sequence[AbstractBaseUser],
    incident: Incident | None,
    dedup_key: str | None,
    context: dict | None = None,
):
    recipients = [r for user in to for r in recipients_for(user)]
    try:
        return message_send(
            kind=kind,
            subject=subject[:300],
            body=body,
            recipients=recipients,
            incident=incident,
            dedup_key=dedup_key,
            context=context,
        )
    except CommsError as error:
        raise RoleError(f"Could not send the message: {error}") from None


def _subject(incident: Incident, text: str) -> str:
    return f"[{incident.reference} {incident.severity_label}] {text}"


def _room_url(incident: Incident) -> str:
    return _absolute(incident.get_absolute_url())


# --- Paging ---------------------------------------------------------------------------------

ACK_SALT = "roles.page-ack"


def page_ack_token(*, page: Page, user: AbstractBaseUser) -> str:
    """A signed token for one person to acknowledge one page (see page_ack_read)."""
    return signing.TimestampSigner(salt=ACK_SALT).sign_object({"page": page.pk, "user": user.pk})


def page_ack_url(*, page: Page, user: AbstractBaseUser) -> str:
    return reverse("roles:page_ack", kwargs={"token": page_ack_token(page=page, user=user)})


def page_ack_read(token: str) -> tuple[int, int]:
    """(page id, user id) of an acknowledge token; RoleError when it is forged or expired."""
    try:
        data = signing.TimestampSigner(salt=ACK_SALT).unsign_object(token, max_age=conf.page_ack_max_age())
    except signing.SignatureExpired:
        raise RoleError(
            "This acknowledge link has expired. Open the incident and acknowledge from there."
        ) from None
    except signing.BadSignature:
        raise RoleError("This acknowledge link is not valid.") from None
    return int(data["page"]), int(data["user"])


def _reachable(users, now: datetime) -> list[AbstractBaseUser]:
    seen: set[int] = set()
    found = []
    for user in users:
        if user is None or not user.is_active or user.pk in seen or is_out_of_office(user, now):
            continue
        seen.add(user.pk)
        found.append(user)
    return found


def _service_steps(service: Service, now: datetime) -> list[list[int]]:
    owners = _reachable([service.primary_owner, service.secondary_owner], now)
    steps = [[u.pk] for u in owners]
    if service.team_id:
        team = _reachable(service.team.members.order_by("first_name", "last_name", "pk"), now)
        steps += [[u.pk] for u in team if [u.pk] not in steps]
    return steps


def _schedule_steps(schedule: Schedule, now: datetime, *, together: bool) -> list[list[int]]:
    """Primary, then backup, then the rest of the rotation in turn; out-of-office people skipped.

    `together` notifies the primary and the backup in the first step (`!ic page`).
    """
    primary, backup = oncall_at(schedule, now)
    first = _reachable([primary, backup], now)
    rest = [u for u in _reachable(rotation_after(schedule, now), now) if u not in first]
    if together:
        steps = [[u.pk for u in first]] if first else []
    else:
        steps = [[u.pk] for u in first]
    return steps + [[u.pk] for u in rest]


def _page_text(page: Page, user: AbstractBaseUser) -> tuple[str, str, dict]:
    incident = page.incident
    ack = _absolute(page_ack_url(page=page, user=user))
    why = {
        Page.Target.INCIDENT_COMMANDER: "You are paged as the on-call Incident Commander.",
        Page.Target.SCHEDULE: f"You are on call for {page.schedule}."
        if page.schedule
        else "You are on call.",
        Page.Target.SERVICE: f"You own {page.service}." if page.service else "You own an affected service.",
        Page.Target.PERSON: f"{_name(page.created_by)} asks for your help.",
    }[page.target]
    lines = [
        f"**{incident.reference} {incident.severity_label}: {incident.title}**",
        "",
        why,
    ]
    if page.message:
        lines += ["", page.message]
    if page.level:
        lines += ["", "Escalated: nobody acknowledged before you."]
    lines += ["", f"Acknowledge: {ack}", f"Incident room: {_room_url(incident)}"]
    context = {
        "page": page.pk,
        "incident": incident.reference,
        "ack_url": ack,
        "room_url": _room_url(incident),
    }
    return _subject(incident, f"Page: {incident.title}"), "\n".join(lines), context


def _notify(page: Page, user_ids: Sequence[int]) -> list[AbstractBaseUser]:
    users = list(User.objects.filter(pk__in=user_ids))
    users.sort(key=lambda u: list(user_ids).index(u.pk))
    for user in users:
        # A page is an invitation: the person can open a restricted incident.
        Participation.objects.get_or_create(incident=page.incident, user=user)
        page.notified.add(user)
        subject, body, context = _page_text(page, user)
        _send(
            kind="page",
            subject=subject,
            body=body,
            to=[user],
            incident=page.incident,
            dedup_key=f"page:{page.pk}:{page.level}:{user.pk}",
            context=context,
        )
    return users


def _schedule_escalation(page: Page) -> None:
    page_id, token, eta = page.pk, str(page.escalation_token), page.escalates_at

    def enqueue() -> None:
        from roles.tasks import page_escalate

        try:
            page_escalate.apply_async((page_id, token), eta=eta)
        except Exception:  # noqa: BLE001 - the beat sweep escalates overdue pages too
            logger.warning("Could not schedule the escalation of page %s", page_id, exc_info=True)

    transaction.on_commit(enqueue)


def _minutes(n: int) -> str:
    return f"{n} minute" if n == 1 else f"{n} minutes"


def _names(users: Sequence[AbstractBaseUser]) -> str:
    names = [_name(u) for u in users]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@transaction.atomic
def page_send(
    *,
    incident: Incident,
    by: AbstractBaseUser | None,
    person: AbstractBaseUser | None = None,
    service: Service | None = None,
    schedule: Schedule | None = None,
    message: str = "",
) -> Page:
    """Page a person, a service's owners, or whoever is on call for a schedule."""
    if sum(x is not None for x in (person, service, schedule)) != 1:
        raise RoleError("Page one person, one service or one schedule.")
    now = timezone.now()
    if person is not None:
        if not person.is_active:
            raise RoleError(f"{_name(person)} is not an active user and cannot be paged.")
        target, steps, minutes, what = Page.Target.PERSON, [[person.pk]], conf.person_escalation_minutes(), ""
    elif service is not None:
        target, steps, minutes = Page.Target.SERVICE, _service_steps(service, now), service.escalation_minutes
        what = f" (owners of {service})"
        if not steps:
            raise RoleError(f"Nobody to page for {service}: its owners are not set or out of office.")
    else:
        target, steps = Page.Target.SCHEDULE, _schedule_steps(schedule, now, together=False)
        minutes = schedule.escalation_minutes
        what = f" (on call for {schedule})"
        if not steps:
            raise RoleError(f"Nobody is on call for {schedule} right now: the schedule is empty.")
    return _page_create(
        incident=incident,
        by=by,
        target=target,
        steps=steps,
        minutes=minutes,
        service=service,
        schedule=schedule,
        message=message,
        what=what,
    )


@transaction.atomic
def page_incident_commander(*, incident: Incident, by: AbstractBaseUser | None, message: str = "") -> Page:
    """`!ic page`: the primary and the backup on-call Incident Commander at the same time."""
    from roles.selectors import ic_schedule

    schedule = ic_schedule()
    if schedule is None:
        raise RoleError("No on-call schedule for the Incident Commander role is set up (Admin → Schedules).")
    steps = _schedule_steps(schedule, timezone.now(), together=True)
    if not steps:
        raise RoleError(f"Nobody is on call for {schedule} right now: the schedule is empty.")
    return _page_create(
        incident=incident,
        by=by,
        target=Page.Target.INCIDENT_COMMANDER,
        steps=steps,
        minutes=schedule.escalation_minutes,
        schedule=schedule,
        role=IncidentRole.INCIDENT_COMMANDER,
        message=message,
        what=" (primary and backup on-call Incident Commander)",
    )


def _page_create(
    *,
    incident: Incident,
    by: AbstractBaseUser | None,
    target: str,
    steps: list[list[int]],
    minutes: int,
    what: str,
    service: Service | None = None,
    schedule: Schedule | None = None,
    role: str = "",
    message: str = "",
) -> Page:
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if not incident.is_open:
        raise RoleError(f"{incident.reference} is {incident.get_status_display().lower()}: nobody is paged.")
    now = timezone.now()
    page = Page.objects.create(
        incident=incident,
        target=target,
        service=service,
        schedule=schedule,
        role=role,
        message=message.strip()[:500],
        steps=steps,
        level=0,
        escalation_minutes=minutes,
        escalates_at=now + timedelta(minutes=minutes),
        created_by=by,
        created_at=now,
    )
    users = _notify(page, steps[0])
    body = f"Paged {_names(users)}{what}"
    if page.message:
        body += f": {page.message}"
    timeline_record(
        incident=incident,
        kind=TimelineEntry.Kind.PAGE,
        body=body,
        author=by,
        data={"page": page.pk, "target": target, "notified": [u.pk for u in users], "level": 0},
    )
    _schedule_escalation(page)
    return page


@transaction.atomic
def page_escalate(*, page_id: int, token: str) -> Page | None:
    """Move an unacknowledged page to the next step of its chain.

    Does nothing (returns None) when the run is stale: the page was
    acknowledged, escalated already (the token changed), or is not due yet.
    """
    page = Page.objects.select_for_update(of=("self",)).select_related("incident").filter(pk=page_id).first()
    if page is None or page.status != Page.Status.TRIGGERED or str(page.escalation_token) != str(token):
        return None
    now = timezone.now()
    if page.escalates_at is None or now < page.escalates_at:
        return None
    if not page.incident.is_open:
        page.status = Page.Status.CANCELLED
        page.escalates_at = None
        page.escalation_token = uuid.uuid4()
        page.save(update_fields=["status", "escalates_at", "escalation_token"])
        return page
    waited = page.escalation_minutes
    if page.level + 1 >= len(page.steps):
        page.status = Page.Status.EXHAUSTED
        page.escalates_at = None
        page.escalation_token = uuid.uuid4()
        page.save(update_fields=["status", "escalates_at", "escalation_token"])
        timeline_record(
            incident=page.incident,
            kind=TimelineEntry.Kind.PAGE,
            body=f"Nobody acknowledged the page within {_minutes(waited)}, and there is nobody left to "
            "escalate to. Page someone else.",
            author=None,
            data={"page": page.pk, "exhausted": True, "level": page.level},
        )
        if page.created_by is not None and page.created_by.is_active:
            # Whoever asked for help must know that nobody is coming.
            _send(
                kind="reminder",
                subject=_subject(page.incident, "Nobody acknowledged your page"),
                body=f"Nobody acknowledged your page within {_minutes(waited)} at any step. "
                f"Page someone else: {_room_url(page.incident)}",
                to=[page.created_by],
                incident=page.incident,
                dedup_key=f"page-exhausted:{page.pk}",
            )
        return page
    page.level += 1
    page.escalates_at = now + timedelta(minutes=waited)
    page.escalation_token = uuid.uuid4()
    page.save(update_fields=["level", "escalates_at", "escalation_token"])
    users = _notify(page, page.steps[page.level])
    timeline_record(
        incident=page.incident,
        kind=TimelineEntry.Kind.PAGE,
        body=f"Page escalated to {_names(users)}: nobody acknowledged within {_minutes(waited)}.",
        author=None,
        data={"page": page.pk, "notified": [u.pk for u in users], "level": page.level},
    )
    _schedule_escalation(page)
    return page


def pages_escalate_overdue() -> int:
    """The safety net behind the countdown tasks: escalate every page that is past due."""
    due = Page.objects.filter(status=Page.Status.TRIGGERED, escalates_at__lte=timezone.now()).values_list(
        "pk", "escalation_token"
    )
    count = 0
    for page_id, token in list(due[:500]):
        if page_escalate(page_id=page_id, token=str(token)) is not None:
            count += 1
    return count


@transaction.atomic
def page_acknowledge(*, page: Page, user: AbstractBaseUser) -> Page:
    """The person takes the page; for an IC page with nobody in the role, they become IC."""
    page = (
        Page.objects.select_for_update(of=("self",))
        .select_related("incident", "acknowledged_by")
        .get(pk=page.pk)
    )
    if page.status == Page.Status.ACKNOWLEDGED:
        raise RoleError(
            f"This page was acknowledged already by {_name(page.acknowledged_by)} at "
            f"{timezone.localtime(page.acknowledged_at):%H:%M} UTC. Nothing changed."
        )
    if page.status == Page.Status.CANCELLED:
        raise RoleError("This page was cancelled: the incident is closed.")
    if not page.notified.filter(pk=user.pk).exists():
        raise NotAllowed("This page was not sent to you.")
    now = timezone.now()
    page.status = Page.Status.ACKNOWLEDGED
    page.acknowledged_by = user
    page.acknowledged_at = now
    page.escalates_at = None
    page.escalation_token = uuid.uuid4()
    page.save(
        update_fields=["status", "acknowledged_by", "acknowledged_at", "escalates_at", "escalation_token"]
    )
    timeline_record(
        incident=page.incident,
        kind=TimelineEntry.Kind.PAGE,
        body=f"{_name(user)} acknowledged the page",
        author=user,
        data={"page": page.pk, "acknowledged": True},
    )
    if page.role and page.incident.is_open and current_holder(incident=page.incident, role=page.role) is None:
        _role_assign(incident=page.incident, role=page.role, user=user, by=user)
    if page.created_by is not None and page.created_by.pk != user.pk:
        _send(
            kind="page_ack",
            subject=_subject(page.incident, f"{_name(user)} acknowledged your page"),
            body=f"{_name(user)} acknowledged the page for {page.incident.reference}.\n\n"
            + _room_url(page.incident),
            to=[page.created_by],
            incident=page.incident,
            dedup_key=f"page-ack:{page.pk}",
        )
    return page


# --- Handover -------------------------------------------------------------------------------


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
    if by.pk != assignment.user_id and not may_assign_roles(incident=incident, user=by):
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
        new = _role_assign(
            incident=incident, role=assignment.role, user=new_holder, by=by, handover_note=note
        )
    else:
        new = _role_assign(incident=incident, role=assignment.role, user=new_holder, by=by)
        role_release(assignment=assignment, by=by, handover_note=note)
    _send(
        kind="handover_note",
        subject=_subject(
            incident, f"You are now {new.get_role_display()}: handover from {_name(assignment.user)}"
        ),
        body=f"{_name(assignment.user)} handed {new.get_role_display()} on {incident.reference} "
        f"\u201c{incident.title}\u201d over to you.\n\n{note}\n\nIncident room: {_room_url(incident)}",
        to=[new_holder],
        incident=incident,
        dedup_key=f"handover-note:{new.pk}",
    )
    return new


def _day_ending(user: AbstractBaseUser, now: datetime):
    """The local date of the working day that is ending for this person now, or None."""
    profile = profile_for(user)
    local_today = now.astimezone(profile.tz).date()
    lead, window = conf.handover_lead(), conf.handover_window()
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
            url = _absolute(
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
                _send(
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


# --- Reminders ------------------------------------------------------------------------------


def _period(anchor: datetime, every: timedelta, now: datetime) -> int:
    """How many whole periods have passed since the anchor (0 = not due yet)."""
    if now < anchor:
        return 0
    return int((now - anchor) / every)


def _holder_or_ic(holders: dict[str, AbstractBaseUser], role: str) -> AbstractBaseUser | None:
    """The holder of the role, or the IC when nobody holds it (the IC does every unfilled job)."""
    return holders.get(role) or holders.get(IncidentRole.INCIDENT_COMMANDER)


def reminders_send(*, now: datetime | None = None) -> dict[str, int]:
    """Executive summary due, public update overdue, long-incident check-up. Idempotent per period."""
    from roles.selectors import current_role_holders

    now = now or timezone.now()
    incidents = list(Incident.objects.filter(status__in=Incident.OPEN_STATUSES))
    holders_by_incident = current_role_holders(i.pk for i in incidents)
    last_summary = {
        incident_id: sent_at
        for incident_id, sent_at in ExecutiveSummary.objects.filter(incident__in=incidents)
        .order_by("incident_id", "sent_at")
        .values_list("incident_id", "sent_at")
    }
    last_public = {
        incident_id: occurred_at
        for incident_id, occurred_at in TimelineEntry.objects.filter(
            incident__in=incidents, kind=TimelineEntry.Kind.PUBLIC_UPDATE, struck_at__isnull=True
        )
        .order_by("incident_id", "occurred_at")
        .values_list("incident_id", "occurred_at")
    }
    counts = {"executive_summary": 0, "public_update": 0, "checkup": 0}
    for incident in incidents:
        holders = {a.role: a.user for a in holders_by_incident.get(incident.pk, [])}
        room = _room_url(incident)

        every = conf.executive_summary_minutes(incident.severity)
        if every:
            anchor = last_summary.get(incident.pk, incident.declared_at)
            period = _period(anchor, timedelta(minutes=every), now)
            to = _holder_or_ic(holders, IncidentRole.INTERNAL_LIAISON)
            if period and to is not None:
                counts["executive_summary"] += _remind(
                    incident=incident,
                    to=to,
                    key=f"reminder:exec:{incident.pk}:{anchor.timestamp():.0f}:{period}",
                    subject=_subject(incident, "Executive summary due"),
                    body=f"No executive summary for {every * period} minutes. Send the stakeholders a short "
                    f"summary of the current status from the room: {room}",
                )

        overdue = conf.public_update_minutes(incident.severity)
        if overdue:
            anchor = last_public.get(incident.pk, incident.declared_at)
            period = _period(anchor, timedelta(minutes=overdue), now)
            to = _holder_or_ic(holders, IncidentRole.CUSTOMER_LIAISON)
            if period and to is not None:
                counts["public_update"] += _remind(
                    incident=incident,
                    to=to,
                    key=f"reminder:public:{incident.pk}:{anchor.timestamp():.0f}:{period}",
                    subject=_subject(incident, "Public update overdue"),
                    body=f"No public update for {overdue * period} minutes. If in doubt, tweet it out: "
                    f"post an update on the status page. {room}",
                )

        hours = conf.checkup_hours()
        if hours:
            period = _period(incident.declared_at, timedelta(hours=hours), now)
            to = holders.get(IncidentRole.INCIDENT_COMMANDER) or holders.get(IncidentRole.ON_CALL)
            if period and to is not None:
                counts["checkup"] += _remind(
                    incident=incident,
                    to=to,
                    key=f"reminder:checkup:{incident.pk}:{period}",
                    subject=_subject(incident, f"Open for {hours * period} hours: time to regroup"),
                    body=f"{incident.reference} has been open for more than {hours * period} hours. Regroup: "
                    "is the severity right, are the right people on it, does anyone need to hand over? "
                    f"{room}",
                )
    return counts


def _remind(*, incident: Incident, to: AbstractBaseUser, key: str, subject: str, body: str) -> int:
    if Message.objects.filter(dedup_key=key).exists():
        return 0
    try:
        with transaction.atomic():
            _send(kind="reminder", subject=subject, body=body, to=[to], incident=incident, dedup_key=key)
    except RoleError:
        logger.warning("Reminder %s not sent", key, exc_info=True)
        return 0
    return 1


# --- Executive summary ----------------------------------------------------------------------


def may_send_executive_summary(*, incident: Incident, user: AbstractBaseUser) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    if user.is_staff or user.is_superuser:
        return True
    holder = current_holder(incident=incident, role=IncidentRole.INTERNAL_LIAISON)
    if holder is not None:
        return holder.user_id == user.pk
    ic = current_holder(incident=incident, role=IncidentRole.INCIDENT_COMMANDER)
    return ic is not None and ic.user_id == user.pk


def stakeholder_teams(severity: int) -> list[Team]:
    return [
        team for team in Team.objects.prefetch_related("members") if severity in (team.stakeholder_for or [])
    ]


@transaction.atomic
def executive_summary_send(
    *, incident: Incident, by: AbstractBaseUser, body: str, next_step: str = ""
) -> ExecutiveSummary:
    """Send the stakeholder teams for the incident's severity a summary, and note it on the timeline."""
    if not may_send_executive_summary(incident=incident, user=by):
        raise NotAllowed(
            "The internal liaison (or the IC when nobody holds that role) sends executive summaries."
        )
    body = body.strip()
    if not body:
        raise RoleError("The summary needs some text.")
    teams = stakeholder_teams(incident.severity)
    people = {u.pk: u for team in teams for u in team.members.all() if u.is_active}
    if not people:
        raise RoleError(
            f"No stakeholder team with members is set up for {Severity(incident.severity).label} "
            "(Admin → Teams → stakeholders for severities)."
        )
    summary = ExecutiveSummary.objects.create(
        incident=incident, sent_by=by, severity=incident.severity, body=body, next_step=next_step.strip()
    )
    summary.teams.set(teams)
    text = body
    if summary.next_step:
        text += f"\n\n**Next step:** {summary.next_step}"
    _send(
        kind="executive_summary",
        subject=_subject(incident, f"Executive summary: {incident.title}"),
        body=text + f"\n\nIncident room: {_room_url(incident)}",
        to=list(people.values()),
        incident=incident,
        dedup_key=f"executive-summary:{summary.pk}",
        context={"summary": summary.pk},
    )
    timeline_record(
        incident=incident,
        kind=TimelineEntry.Kind.NOTE,
        body=f"Executive summary sent to {', '.join(t.name for t in teams)}.\n\n{text}",
        author=by,
        data={"executive_summary": summary.pk},
    )
    return summary
