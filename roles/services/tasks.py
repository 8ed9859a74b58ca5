"""Delegation: tasks for now, workstreams (sub-teams) when the span of control is exceeded, and who
takes part in a restricted incident.

"The IC delegates investigation and repair." A task goes to one participant; a
workstream has a lead with IC-like rights over its own tasks. TODO entries stay
what they are: follow-ups for after the incident.
"""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from incidents import permissions as incident_permissions
from incidents.models import Incident, Participation, TimelineEntry
from incidents.selectors import who_can_see
from incidents.services import incident_lock, participant_add, participant_remove, timeline_record
from roles import permissions
from roles.models import Task, Workstream
from roles.services.common import NotAllowed, RoleError, person_name, room_url, send_to, subject_for

# "Span of control": past this many people taking part without workstreams, the room suggests splitting.
SPAN_OF_CONTROL = 7

TASK_MOVES = {
    Task.State.OPEN: {Task.State.DOING, Task.State.DONE, Task.State.DROPPED},
    Task.State.DOING: {Task.State.OPEN, Task.State.DONE, Task.State.DROPPED},
    Task.State.DONE: set(),
    Task.State.DROPPED: set(),
}


def _words(text: str, what: str, limit: int) -> str:
    text = " ".join((text or "").split())
    if not text:
        raise RoleError(f"Say {what}.")
    if len(text) > limit:
        raise RoleError(f"Keep it to {limit} characters.")
    return text


def _may_see(person: AbstractBaseUser, incident: Incident) -> bool:
    return bool(who_can_see(incident=incident, people=[person]))


def _open(incident: Incident) -> Incident:
    incident = incident_lock(incident)
    if not incident.is_open:
        raise RoleError("The incident is closed: reopen it first.")
    return incident


# --- Tasks --------------------------------------------------------------------------------------


@transaction.atomic
def task_assign(
    *,
    incident: Incident,
    by: AbstractBaseUser,
    title: str,
    assignee: AbstractBaseUser,
    due_at: datetime | None = None,
    workstream: Workstream | None = None,
    in_room: bool = False,
) -> Task:
    """The IC (or a workstream's lead, inside it) gives a participant something to do now.

    The assignee hears of it in the bell, and by e-mail too when they are not in
    the room (`in_room`, which the caller knows from the room's presence).
    """
    incident = _open(incident)
    title = _words(title, "what is to be done", 300)
    if workstream is not None and workstream.incident_id != incident.pk:
        raise RoleError("That workstream belongs to another incident.")
    holders = permissions.holders_of(incident)
    lead_of = workstream is not None and workstream.lead_id == by.pk
    if not permissions.may_assign_task(by, holders, lead_of=lead_of):
        raise NotAllowed(
            "The Incident Commander (or the workstream's lead) assigns tasks: propose it to them."
        )
    if not assignee.is_active or not _may_see(assignee, incident):
        raise RoleError(f"{person_name(assignee)} cannot take part in this incident.")
    if due_at is not None and due_at <= timezone.now():
        raise RoleError("A task is due in the future.")
    task = Task.objects.create(
        incident=incident, title=title, assignee=assignee, due_at=due_at, workstream=workstream, created_by=by
    )
    Participation.objects.get_or_create(incident=incident, user=assignee)
    if workstream is not None:
        workstream.members.add(assignee)
    due = f" (due {timezone.localtime(due_at):%H:%M})" if due_at else ""
    timeline_record(
        incident=incident,
        kind=TimelineEntry.Kind.TASK,
        body=f"Task for {person_name(assignee)}: {title}{due}",
        author=by,
        data={"task": task.pk, "state": task.state, "workstream": workstream.pk if workstream else None},
    )
    if assignee.pk != by.pk:
        send_to(
            kind="other",
            subject=subject_for(incident, f"Task for you: {title}"),
            body=f"{person_name(by)} gives you a task: {title}{due}\n\nThe room: {room_url(incident)}",
            to=[assignee],
            incident=incident,
            dedup_key=f"task:{task.pk}",
            in_app_only=in_room,
        )
    return task


@transaction.atomic
def task_give_after(*, incident: Incident, title: str, assignee: AbstractBaseUser) -> Task:
    """A task the portal gives for after the incident, on a closed incident too.

    For work the process asks once an incident is over (MNX: "follow up with the
    customer to make sure everything is working from their end"): the caller's rule
    decided it is due, so no one's permission is asked; the assignee hears of it from
    the caller, once for all such tasks.
    """
    incident = incident_lock(incident)
    title = _words(title, "what is to be done", 300)
    if not assignee.is_active or not _may_see(assignee, incident):
        raise RoleError(f"{person_name(assignee)} cannot take part in this incident.")
    task = Task.objects.create(incident=incident, title=title, assignee=assignee, created_by=None)
    Participation.objects.get_or_create(incident=incident, user=assignee)
    timeline_record(
        incident=incident,
        kind=TimelineEntry.Kind.TASK,
        body=f"Task for {person_name(assignee)}: {title}",
        author=None,
        data={"task": task.pk, "state": task.state, "workstream": None},
    )
    return task


@transaction.atomic
def task_move(*, task: Task, by: AbstractBaseUser | None, state: str) -> Task:
    """open → doing → done / dropped, by the assignee, the IC or deputy, or the workstream's lead.

    `by=None` is the portal, closing a task whose work another service recorded as done.
    """
    incident = incident_lock(task.incident)
    task = (
        Task.objects.select_for_update(of=("self",)).select_related("workstream", "assignee").get(pk=task.pk)
    )
    if state not in Task.State.values:
        raise RoleError("A task is open, doing, done or dropped.")
    holders = permissions.holders_of(incident)
    lead_of = by is not None and task.workstream is not None and task.workstream.lead_id == by.pk
    if (
        by is not None
        and task.assignee_id != by.pk
        and not permissions.may_assign_task(by, holders, lead_of=lead_of)
    ):
        raise NotAllowed("The assignee, the Incident Commander or the workstream's lead moves a task.")
    if state not in TASK_MOVES[task.state]:
        raise RoleError(f"The task is {task.get_state_display().lower()}: it cannot become {state}.")
    task.state = state
    task.save(update_fields=["state", "updated_at"])
    timeline_record(
        incident=incident,
        kind=TimelineEntry.Kind.TASK,
        body=f"Task {task.get_state_display().lower()}: {task.title} ({person_name(task.assignee)})",
        author=by,
        data={"task": task.pk, "state": state, "workstream": task.workstream_id},
    )
    return task


# --- Workstreams ----------------------------------------------------------------------------------


@transaction.atomic
def workstream_start(
    *,
    incident: Incident,
    by: AbstractBaseUser,
    name: str,
    goal: str,
    lead: AbstractBaseUser,
    members: list[AbstractBaseUser] = (),
) -> Workstream:
    """Split off a sub-team with a lead and a goal (PagerDuty: when the span of control is exceeded)."""
    incident = _open(incident)
    if not incident_permissions.may_decide(by, incident):
        raise NotAllowed("The Incident Commander splits off workstreams.")
    name = _words(name, "the workstream's name", 100)
    goal = _words(goal, "its goal", 300)
    people = [lead, *[m for m in members if m.pk != lead.pk]]
    for person in people:
        if not person.is_active or not _may_see(person, incident):
            raise RoleError(f"{person_name(person)} cannot take part in this incident.")
    if Workstream.objects.filter(incident=incident, name__iexact=name, closed_at__isnull=True).exists():
        raise RoleError(f"There is a workstream called {name} already.")
    workstream = Workstream.objects.create(incident=incident, name=name, goal=goal, lead=lead, created_by=by)
    workstream.members.set(people)
    for person in people:
        Participation.objects.get_or_create(incident=incident, user=person)
    names = ", ".join(person_name(p) for p in people[1:]) or "nobody else yet"
    timeline_record(
        incident=incident,
        kind=TimelineEntry.Kind.TASK,
        body=f"Workstream {name}, led by {person_name(lead)}: {goal}\n\nMembers: {names}",
        author=by,
        data={"workstream": workstream.pk, "started": True},
    )
    return workstream


@transaction.atomic
def workstream_close(*, workstream: Workstream, by: AbstractBaseUser) -> Workstream:
    incident = incident_lock(workstream.incident)
    workstream = Workstream.objects.select_for_update().get(pk=workstream.pk)
    if workstream.closed_at is not None:
        raise RoleError("The workstream is closed already.")
    if workstream.lead_id != by.pk and not incident_permissions.may_decide(by, incident):
        raise NotAllowed("The Incident Commander or the workstream's lead closes it.")
    workstream.closed_at = timezone.now()
    workstream.save(update_fields=["closed_at"])
    timeline_record(
        incident=incident,
        kind=TimelineEntry.Kind.TASK,
        body=f"Workstream {workstream.name} closed.",
        author=by,
        data={"workstream": workstream.pk, "closed": True},
    )
    return workstream


def span_exceeded(*, participants: int, workstreams: int) -> bool:
    return workstreams == 0 and participants > SPAN_OF_CONTROL


# --- Who takes part in a restricted incident --------------------------------------------------------


@transaction.atomic
def participant_let_in(
    *, incident: Incident, person: AbstractBaseUser, by: AbstractBaseUser, reason: str
) -> Incident:
    """Let someone into a restricted incident: its IC or an admin, with the reason on the timeline."""
    if not permissions.may_manage_participants(by, permissions.holders_of(incident)):
        raise NotAllowed("The Incident Commander or an admin decides who takes part.")
    return participant_add(incident=incident, user=person, by=by, reason=_words(reason, "why", 300))


@transaction.atomic
def participant_let_out(
    *, incident: Incident, person: AbstractBaseUser, by: AbstractBaseUser, reason: str
) -> Incident:
    """Take someone out of a restricted incident: they stop seeing it everywhere at once."""
    if not permissions.may_manage_participants(by, permissions.holders_of(incident)):
        raise NotAllowed("The Incident Commander or an admin decides who takes part.")
    holds = [a for a in permissions.holders_of(incident) if a.user_id == person.pk]
    if holds:
        raise RoleError(f"{person_name(person)} holds a role: release it first.")
    return participant_remove(incident=incident, user=person, by=by, reason=_words(reason, "why", 300))
