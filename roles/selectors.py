"""Reads of people, rosters, roles and pages shared by pages, services and tasks."""

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from incidents.models import Incident
from incidents.selectors import incidents_visible_to
from roles.models import (
    ExecutiveSummary,
    IncidentRole,
    LayerMember,
    OnCallLevel,
    OutOfOffice,
    Override,
    Page,
    Profile,
    RoleAssignment,
    RotationLayer,
    Schedule,
    Service,
    Task,
    Workstream,
)

User = get_user_model()


def current_role_holders(incident_ids: Iterable[int]) -> dict[int, list[RoleAssignment]]:
    """Current holders for many incidents in one query, in the order roles are listed."""
    order = {role: i for i, role in enumerate(IncidentRole.values)}
    holders: dict[int, list[RoleAssignment]] = defaultdict(list)
    assignments = RoleAssignment.objects.filter(
        incident_id__in=list(incident_ids), ended_at__isnull=True
    ).select_related("user")
    for assignment in sorted(assignments, key=lambda a: (order[a.role], a.started_at)):
        holders[assignment.incident_id].append(assignment)
    return holders


def open_workstreams(incident: Incident) -> list[tuple[int, str]]:
    """(id, name) of the incident's open workstreams, in one query: what an entry may be tagged to.

    The room's command panel reads them before the composer is drawn and leaves them on the
    incident object it was given (roles_tags.command_context), so the page asks once. Services
    pass the incident they locked, a fresh object, and so always read the table.
    """
    remembered = getattr(incident, "_open_workstreams", None)
    if remembered is not None:
        return remembered
    rows = Workstream.objects.filter(incident=incident, closed_at__isnull=True).order_by("created_at", "pk")
    return list(rows.values_list("pk", "name"))


def current_holder(*, incident: Incident, role: str) -> RoleAssignment | None:
    return (
        RoleAssignment.objects.filter(incident=incident, role=role, ended_at__isnull=True)
        .select_related("user")
        .order_by("started_at")
        .first()
    )


def assignable_people() -> QuerySet:
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


# --- People ------------------------------------------------------------------------------


def profile_for(user: AbstractBaseUser) -> Profile:
    """The person's profile, or the defaults (office hours in the portal's zone) when none is set up.

    Reads never create rows: a missing profile is an unsaved one with the defaults.
    """
    try:
        return user.profile
    except Profile.DoesNotExist:
        return Profile(user=user)


def is_out_of_office(user: AbstractBaseUser, when: datetime) -> bool:
    profile = profile_for(user)
    if profile.pk is None:
        return False
    if "out_of_office" in getattr(profile, "_prefetched_objects_cache", {}):
        # Read with the periods (services_with_owners): a page asking about many instants costs no query.
        return any(p.starts_at <= when < p.ends_at for p in profile.out_of_office.all())
    return profile.out_of_office.filter(starts_at__lte=when, ends_at__gt=when).exists()


# The order a service's team is paged in, after its owners.
TEAM_PAGING_ORDER = ("first_name", "last_name", "pk")


def team_in_paging_order(team) -> list[AbstractBaseUser]:
    if "members" in getattr(team, "_prefetched_objects_cache", {}):
        return list(team.members.all())  # prefetched in TEAM_PAGING_ORDER by services_with_owners
    return list(team.members.order_by(*TEAM_PAGING_ORDER))


def services_with_owners(since: datetime) -> QuerySet[Service]:
    """Every service with its owners, its team in paging order, and their out-of-office periods.

    Only periods still running at `since` are read, so is_out_of_office answers for `since` and later.
    """
    periods = Prefetch("profile__out_of_office", queryset=OutOfOffice.objects.filter(ends_at__gt=since))
    return Service.objects.select_related("team").prefetch_related(
        Prefetch("primary_owner", queryset=User.objects.prefetch_related(periods)),
        Prefetch("secondary_owner", queryset=User.objects.prefetch_related(periods)),
        Prefetch(
            "team__members",
            queryset=User.objects.order_by(*TEAM_PAGING_ORDER).prefetch_related(periods),
        ),
    )


# --- On-call rosters ------------------------------------------------------------------------


class OnCall(NamedTuple):
    primary: AbstractBaseUser | None
    backup: AbstractBaseUser | None


def schedules_with_rosters() -> QuerySet[Schedule]:
    """Schedules with their layers, people and current/future overrides, in a fixed number of queries."""
    now = timezone.now()
    return Schedule.objects.select_related("team").prefetch_related(
        Prefetch(
            "layers",
            queryset=RotationLayer.objects.prefetch_related(
                Prefetch("members", queryset=LayerMember.objects.select_related("user"))
            ),
        ),
        Prefetch(
            "overrides",
            queryset=Override.objects.filter(ends_at__gt=now - timedelta(days=1)).select_related("user"),
        ),
    )


def _prefetched(obj, name: str) -> bool:
    return name in getattr(obj, "_prefetched_objects_cache", {})


def _members(layer: RotationLayer) -> list[AbstractBaseUser]:
    if _prefetched(layer, "members"):
        return [m.user for m in layer.members.all()]
    return [m.user for m in layer.members.select_related("user").order_by("position", "pk")]


def _layers(schedule: Schedule) -> list[RotationLayer]:
    return list(schedule.layers.all())


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _boundary(layer: RotationLayer, k: int) -> datetime:
    """When shift k of the layer starts, in UTC.

    Counted on the layer's wall clock: shift k starts at start + k * length in
    local time. On a daylight-saving change a 24-hour shift is then 23 or 25
    real hours, and the hand-off stays at the same local time.
    """
    start = datetime.combine(layer.start_date, layer.handoff_time)
    local = start + timedelta(hours=layer.shift_hours * k)
    return _utc(local.replace(tzinfo=layer.tz))


def _shift_index(layer: RotationLayer, when: datetime) -> int | None:
    """The number of the shift running at `when`, or None before the layer starts."""
    when = _utc(when)
    start = datetime.combine(layer.start_date, layer.handoff_time)
    local = when.astimezone(layer.tz).replace(tzinfo=None)
    k = math.floor((local - start) / timedelta(hours=layer.shift_hours))
    # The wall-clock estimate can be one shift off around a fold (the repeated
    # hour in autumn); the real UTC boundaries settle it.
    while _boundary(layer, k + 1) <= when:
        k += 1
    while k >= 0 and _boundary(layer, k) > when:
        k -= 1
    return k if k >= 0 else None


@dataclass(frozen=True)
class LayerShift:
    layer: RotationLayer
    index: int
    people: Sequence[AbstractBaseUser]

    @property
    def person(self) -> AbstractBaseUser:
        return self.people[self.index % len(self.people)]

    @property
    def next_person(self) -> AbstractBaseUser:
        return self.people[(self.index + 1) % len(self.people)]

    @property
    def ends_at(self) -> datetime:
        return _boundary(self.layer, self.index + 1)


def _active_shift(schedule: Schedule, level: int, when: datetime) -> LayerShift | None:
    """The rotation of this level running at `when`.

    Several layers of one level: the one listed last that has started wins, so
    that a new rotation added below the old one takes over from its start date.
    """
    found = None
    for layer in _layers(schedule):
        if layer.level != level:
            continue
        people = _members(layer)
        if not people:
            continue
        index = _shift_index(layer, when)
        if index is not None:
            found = LayerShift(layer, index, people)
    return found


def _override(schedule: Schedule, level: int, when: datetime) -> AbstractBaseUser | None:
    """Overlapping overrides: the one created last wins (see models.OVERRIDE_RULE)."""
    when = _utc(when)
    if _prefetched(schedule, "overrides"):
        candidates = [
            o for o in schedule.overrides.all() if o.level == level and o.starts_at <= when < o.ends_at
        ]
    else:
        candidates = list(
            schedule.overrides.filter(level=level, starts_at__lte=when, ends_at__gt=when).select_related(
                "user"
            )
        )
    if not candidates:
        return None
    return max(candidates, key=lambda o: (o.created_at, o.pk)).user


def oncall_at(schedule: Schedule, when: datetime) -> OnCall:
    """Who is primary and who is backup on call at `when`.

    Primary: an override for the primary level, else the primary rotation.
    Backup: an override for the backup level, else the backup rotation, else
    the next person of the primary rotation. Nobody is both.
    """
    primary_shift = _active_shift(schedule, OnCallLevel.PRIMARY, when)
    primary = _override(schedule, OnCallLevel.PRIMARY, when) or (primary_shift and primary_shift.person)
    backup = _override(schedule, OnCallLevel.BACKUP, when)
    if backup is None:
        backup_shift = _active_shift(schedule, OnCallLevel.BACKUP, when)
        if backup_shift is not None:
            backup = backup_shift.person
        elif primary_shift is not None:
            backup = primary_shift.next_person
            if primary is not None and backup.pk == primary.pk:
                backup = primary_shift.person  # an override took the primary: the rotation backs up
    if backup is not None and primary is not None and backup.pk == primary.pk:
        backup = None
    return OnCall(primary or None, backup)


def _change_candidates(schedule: Schedule, after: datetime) -> list[datetime]:
    after = _utc(after)
    times: set[datetime] = set()
    for layer in _layers(schedule):
        index = _shift_index(layer, after)
        times.add(_boundary(layer, 0 if index is None else index + 1))
    overrides = (
        schedule.overrides.all()
        if _prefetched(schedule, "overrides")
        else schedule.overrides.filter(ends_at__gt=after)
    )
    for override in overrides:
        times.update(t for t in (override.starts_at, override.ends_at) if t > after)
    return sorted(t for t in times if t > after)


@dataclass(frozen=True)
class NextOnCall:
    at: datetime
    oncall: OnCall


def oncall_next(schedule: Schedule, after: datetime, *, horizon: int = 50) -> NextOnCall | None:
    """The next moment who is on call changes, and who it will be."""
    now = oncall_at(schedule, after)
    for _ in range(horizon):
        candidates = _change_candidates(schedule, after)
        if not candidates:
            return None
        after = candidates[0]
        then = oncall_at(schedule, after)
        if _ids(then) != _ids(now):
            return NextOnCall(after, then)
    return None


def _ids(oncall: OnCall) -> tuple:
    return tuple(p.pk if p is not None else None for p in oncall)


def rotation_after(schedule: Schedule, when: datetime) -> list[AbstractBaseUser]:
    """Everyone on the primary rotation in the order they come after the current person."""
    shift = _active_shift(schedule, OnCallLevel.PRIMARY, when)
    if shift is None:
        return []
    n = len(shift.people)
    return [shift.people[(shift.index + i) % n] for i in range(1, n)]


@dataclass(frozen=True)
class ScheduleNow:
    schedule: Schedule
    now: OnCall
    next: NextOnCall | None


def oncall_overview(when: datetime | None = None) -> list[ScheduleNow]:
    when = when or timezone.now()
    return [
        ScheduleNow(schedule, oncall_at(schedule, when), oncall_next(schedule, when))
        for schedule in schedules_with_rosters()
    ]


def may_command(user: AbstractBaseUser) -> bool:
    """Trained to be Incident Commander: marked so on the profile, or on an IC schedule."""
    if profile_for(user).is_trained_incident_commander:
        return True
    return LayerMember.objects.filter(
        user=user, layer__schedule__role=IncidentRole.INCIDENT_COMMANDER
    ).exists()


def ic_schedule() -> Schedule | None:
    """The roster "Page IC" uses: the first schedule for the Incident Commander role."""
    return schedules_with_rosters().filter(role=IncidentRole.INCIDENT_COMMANDER).order_by("pk").first()


# --- Pages and the dashboard --------------------------------------------------------------


def pages_for_incident(incident: Incident, *, limit: int = 10) -> list[Page]:
    return list(
        incident.pages.select_related("acknowledged_by", "created_by", "service", "schedule")
        .prefetch_related("notified")
        .order_by("-created_at", "-pk")[:limit]
    )


def my_open_pages(user: AbstractBaseUser) -> list[Page]:
    """Pages waiting for this person's acknowledgement, on incidents they can see."""
    return list(
        Page.objects.filter(
            notified=user,
            status__in=[Page.Status.TRIGGERED, Page.Status.EXHAUSTED],
            incident__in=incidents_visible_to(user),
        )
        .select_related("incident")
        .order_by("-created_at")[:20]
    )


def my_current_roles(user: AbstractBaseUser) -> list[RoleAssignment]:
    return list(
        RoleAssignment.objects.filter(
            user=user, ended_at__isnull=True, incident__status__in=Incident.OPEN_STATUSES
        )
        .filter(incident__in=incidents_visible_to(user))
        .select_related("incident")
        .order_by("incident__severity", "started_at")
    )


def my_open_tasks(user: AbstractBaseUser) -> list:
    """My tasks across the incidents I can see, open and doing, most severe incident first."""
    return list(
        Task.objects.filter(assignee=user, state__in=Task.ACTIVE_STATES)
        .filter(incident__in=incidents_visible_to(user))
        .select_related("incident")
        .order_by("incident__severity", "due_at", "created_at")[:50]
    )


# --- Executive summary ----------------------------------------------------------------------------

# What an executive wants to hear about: not every note, but what moved.
SUMMARY_KINDS = (
    "finding",
    "action",
    "decision",
    "status",
    "severity",
    "change",
    "public_update",
    "verification",
)


def first_line(text: str, limit: int = 200) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def executive_summary_draft(incident: Incident) -> tuple[str, str]:
    """A prefilled summary (severity, status, role holders, what changed) and the next planned step."""
    last = ExecutiveSummary.objects.filter(incident=incident).order_by("-sent_at").first()
    since = last.sent_at if last else incident.declared_at
    holders = current_role_holders([incident.pk]).get(incident.pk, [])
    entries = list(
        incident.timeline.filter(occurred_at__gte=since, struck_at__isnull=True, kind__in=SUMMARY_KINDS)
        .exclude(data__has_key="executive_summary")
        .order_by("occurred_at", "pk")[:15]
    )
    age = _duration(timezone.now() - incident.declared_at)
    lines = [
        f"**{incident.reference}: {incident.title}**",
        f"Severity: {incident.severity_label}{' (major)' if incident.is_major else ''} · "
        f"Status: {incident.get_status_display()} · Open for {age}",
    ]
    if incident.deploy_freeze:
        lines.append("Deploy freeze is on.")
    if holders:
        people = "; ".join(
            f"{a.get_role_display()}: {a.user.get_full_name() or a.user.get_username()}" for a in holders
        )
        lines.append(f"Responders: {people}")
    lines += ["", "What changed since the last summary:" if last else "What happened so far:"]
    if entries:
        lines += [
            f"- {timezone.localtime(e.occurred_at):%H:%M} {e.get_kind_display()}: {first_line(e.body)}"
            for e in entries
        ]
    else:
        lines.append("- Nothing new recorded.")
    decision = (
        incident.timeline.filter(kind="decision", struck_at__isnull=True)
        .order_by("-occurred_at", "-pk")
        .first()
    )
    return "\n".join(lines), first_line(decision.body, 500) if decision else ""


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def open_hypotheses_text(incident: Incident, limit: int = 10) -> str:
    """The handover form's "open hypotheses", pre-filled: one line each, oldest first."""
    statements = (
        incident.hypotheses.filter(state="open")
        .order_by("raised_at", "pk")
        .values_list("statement", flat=True)[:limit]
    )
    return "\n".join(f"- {first_line(statement)}" for statement in statements)


# --- On-call over a period: the calendar and its feeds -------------------------------------------


@dataclass(frozen=True)
class OnCallSegment:
    """Who is on call from `starts_at` until `ends_at` (the same people throughout)."""

    starts_at: datetime
    ends_at: datetime
    oncall: OnCall


def oncall_segments(schedule: Schedule, start: datetime, end: datetime) -> list[OnCallSegment]:
    """Who is on call over [start, end), as segments that change only where oncall_at changes.

    Built from oncall_at itself at every moment something may change (a hand-off
    of any layer, the start or end of an override), so the calendar and the
    feeds can never disagree with who is paged.
    """
    start, end = _utc(start), _utc(end)
    segments: list[OnCallSegment] = []
    segment_start, current, at = start, oncall_at(schedule, start), start
    while True:
        following = next(iter(_change_candidates(schedule, at)), None)
        if following is None or following >= end:
            segments.append(OnCallSegment(segment_start, end, current))
            return segments
        then = oncall_at(schedule, following)
        if _ids(then) != _ids(current):
            segments.append(OnCallSegment(segment_start, following, current))
            segment_start, current = following, then
        at = following


@dataclass(frozen=True)
class LayerSpan:
    """One person's shift on one rotation layer (before overrides)."""

    layer: RotationLayer
    person: AbstractBaseUser
    starts_at: datetime
    ends_at: datetime


def layer_spans(layer: RotationLayer, start: datetime, end: datetime) -> list[LayerSpan]:
    """The shifts of a layer that overlap [start, end), clipped to it."""
    people = _members(layer)
    if not people:
        return []
    start, end = _utc(start), _utc(end)
    index = _shift_index(layer, start)
    k = 0 if index is None else index
    spans = []
    while True:
        shift_start, shift_end = _boundary(layer, k), _boundary(layer, k + 1)
        if shift_start >= end:
            break
        if shift_end > start:
            spans.append(
                LayerSpan(layer, people[k % len(people)], max(shift_start, start), min(shift_end, end))
            )
        k += 1
    return spans


def schedule_with_roster(schedule_id: int, *, since: datetime) -> Schedule | None:
    """One schedule with its layers, people and the overrides still running at `since`."""
    return (
        Schedule.objects.select_related("team")
        .prefetch_related(
            Prefetch(
                "layers",
                queryset=RotationLayer.objects.prefetch_related(
                    Prefetch("members", queryset=LayerMember.objects.select_related("user"))
                ),
            ),
            Prefetch(
                "overrides",
                queryset=Override.objects.filter(ends_at__gt=since).select_related("user"),
            ),
        )
        .filter(pk=schedule_id)
        .first()
    )


def schedules_with_rosters_since(since: datetime) -> QuerySet[Schedule]:
    """Every schedule with its layers, people and the overrides still running at `since`."""
    return Schedule.objects.select_related("team").prefetch_related(
        Prefetch(
            "layers",
            queryset=RotationLayer.objects.prefetch_related(
                Prefetch("members", queryset=LayerMember.objects.select_related("user"))
            ),
        ),
        Prefetch("overrides", queryset=Override.objects.filter(ends_at__gt=since).select_related("user")),
    )
