"""The on-call calendar: a schedule's week, and the iCalendar feeds of people and schedules.

Everything here is read from roles.selectors.oncall_segments, which asks
oncall_at at every moment something may change: the calendar, the feeds and
paging cannot disagree about who is on call.

A feed's address is secret (it opens without signing in, since a calendar app
cannot sign in): `/oncall/feeds/<key><mac>.ics`, where the MAC is an HMAC of
the key made with SECRET_KEY. Only the key is stored, so a copy of the database
alone opens no feed; rotating the key closes the old address.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from roles.models import (
    CalendarFeed,
    OnCallLevel,
    OutOfOffice,
    Schedule,
    ScheduleEvent,
    ShiftSwap,
)
from roles.selectors import (
    OnCallSegment,
    layer_spans,
    oncall_segments,
    schedule_with_roster,
    schedules_with_rosters_since,
)

_FEED_SALT = "roles.calendar-feed"
_KEY_LENGTH = 32
_MAC_LENGTH = 32
# A feed starts this long before today, so that a shift that has just ended stays visible.
FEED_PAST = timedelta(days=7)


# --- Secret feed addresses ---------------------------------------------------------------------


def feed_token(feed: CalendarFeed) -> str:
    mac = salted_hmac(_FEED_SALT, feed.key, algorithm="sha256").hexdigest()[:_MAC_LENGTH]
    return f"{feed.key}{mac}"


def feed_path(feed: CalendarFeed) -> str:
    return reverse("roles:calendar_feed", kwargs={"token": feed_token(feed)})


def feed_url(feed: CalendarFeed) -> str:
    return settings.SITE_URL + feed_path(feed)


def feed_for_token(token: str) -> CalendarFeed | None:
    """The feed this address opens, or None (unknown, rotated, or a forged MAC)."""
    if len(token) != _KEY_LENGTH + _MAC_LENGTH:
        return None
    key = token[:_KEY_LENGTH]
    feed = CalendarFeed.objects.select_related("user", "schedule").filter(key=key).first()
    if feed is None or not constant_time_compare(feed_token(feed), token):
        return None
    return feed


# --- Labels ---------------------------------------------------------------------------------------


def person_label(user: AbstractBaseUser | None) -> str:
    if user is None:
        return "nobody"
    return user.get_full_name() or user.get_username()


LEVEL_LABELS = {OnCallLevel.PRIMARY: "primary", OnCallLevel.BACKUP: "backup"}


# --- A schedule's week ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chip:
    """Something on one day of the week view: who, when that day (local), and what it is."""

    label: str
    times: str
    kind: str  # primary, backup, nobody, layer, override, away
    starts_at: datetime
    ends_at: datetime
    note: str = ""
    user_id: int | None = None
    level: int | None = None
    warning: str = ""


def _day_times(starts_at: datetime, ends_at: datetime, day_start: datetime, day_end: datetime) -> str:
    """'09:00–24:00' for the part of [starts_at, ends_at) that falls on this day, in its zone."""
    tz = day_start.tzinfo
    start = "00:00" if starts_at <= day_start else starts_at.astimezone(tz).strftime("%H:%M")
    until = "24:00" if ends_at >= day_end else ends_at.astimezone(tz).strftime("%H:%M")
    return "all day" if (start, until) == ("00:00", "24:00") else f"{start}–{until}"


def _chip(label: str, item, day_start: datetime, day_end: datetime, kind: str, **extra) -> Chip:
    times = _day_times(item.starts_at, item.ends_at, day_start, day_end)
    return Chip(label, times, kind, item.starts_at, item.ends_at, **extra)


@dataclass
class WeekDay:
    day: date
    is_today: bool
    primary: list[Chip] = field(default_factory=list)
    backup: list[Chip] = field(default_factory=list)
    layers: list[tuple[str, list[Chip]]] = field(default_factory=list)
    overrides: list[Chip] = field(default_factory=list)
    away: list[Chip] = field(default_factory=list)

    @property
    def oncall_columns(self) -> list[tuple[str, list[Chip]]]:
        return [("Primary", self.primary), ("Backup", self.backup)]


@dataclass
class Week:
    schedule: Schedule
    tz: ZoneInfo
    monday: date
    days: list[WeekDay]
    layer_names: list[str]
    previous: date
    next: date


def week_monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def _clip(items, day_start: datetime, day_end: datetime):
    for item in items:
        if item.starts_at < day_end and item.ends_at > day_start:
            yield item


def _away_by_user(user_ids: Iterable[int], start: datetime, end: datetime) -> dict[int, list[OutOfOffice]]:
    away: dict[int, list[OutOfOffice]] = {}
    periods = OutOfOffice.objects.filter(
        profile__user_id__in=list(user_ids), starts_at__lt=end, ends_at__gt=start
    ).select_related("profile__user")
    for period in periods:
        away.setdefault(period.profile.user_id, []).append(period)
    return away


def _is_away(
    away: dict[int, list[OutOfOffice]], user: AbstractBaseUser, start: datetime, end: datetime
) -> bool:
    """Is the person out of office at any moment of [start, end)?"""
    return any(p.starts_at < end and p.ends_at > start for p in away.get(user.pk, []))


def schedule_week(schedule_id: int, monday: date, tz: ZoneInfo) -> Week | None:
    """The week from `monday` 00:00 to the next Monday 00:00 in `tz`, day by day.

    For each day: who is on call (primary and backup, after overrides: what
    paging uses), each rotation layer's own turns, the overrides, and the
    out-of-office periods of everyone on the schedule (paging skips them; a
    turn held by someone away is marked).
    """
    start = _local_midnight(monday, tz)
    end = _local_midnight(monday + timedelta(days=7), tz)
    schedule = schedule_with_roster(schedule_id, since=start)
    if schedule is None:
        return None
    layers = list(schedule.layers.all())
    segments = oncall_segments(schedule, start, end)
    shifts = shifts_from_segments(schedule, segments)
    spans = [layer_spans(layer, start, end) for layer in layers]
    overrides = [o for o in schedule.overrides.all() if o.starts_at < end and o.ends_at > start]
    people = {m.user_id for layer in layers for m in layer.members.all()} | {o.user_id for o in overrides}
    away = _away_by_user(people, start, end)
    layer_names = [
        f"{layer.name or 'Rotation'} ({LEVEL_LABELS[OnCallLevel(layer.level)]})" for layer in layers
    ]
    today = timezone.localdate(timezone=tz)
    days = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        day_start, day_end = _local_midnight(day, tz), _local_midnight(day + timedelta(days=1), tz)
        row = WeekDay(day=day, is_today=day == today)
        for segment in _clip(segments, day_start, day_end):
            if segment.oncall.primary is None:
                row.primary.append(_chip("Nobody", segment, day_start, day_end, "nobody"))
        for shift in _clip(shifts, day_start, day_end):
            away_then = _is_away(
                away, shift.user, max(shift.starts_at, day_start), min(shift.ends_at, day_end)
            )
            chips = row.primary if shift.level == OnCallLevel.PRIMARY else row.backup
            chips.append(
                _chip(
                    person_label(shift.user),
                    shift,
                    day_start,
                    day_end,
                    shift.level_label,
                    user_id=shift.user.pk,
                    level=shift.level,
                    warning="out of office: paging skips them" if away_then else "",
                )
            )
        row.primary.sort(key=lambda chip: chip.starts_at)
        for layer_name, turns in zip(layer_names, spans, strict=True):
            chips = [
                _chip(person_label(s.person), s, day_start, day_end, "layer", user_id=s.person.pk)
                for s in _clip(turns, day_start, day_end)
            ]
            row.layers.append((layer_name, chips))
        for override in sorted(_clip(overrides, day_start, day_end), key=lambda o: o.starts_at):
            row.overrides.append(
                _chip(
                    person_label(override.user),
                    override,
                    day_start,
                    day_end,
                    "override",
                    note=f"{LEVEL_LABELS[OnCallLevel(override.level)]}"
                    + (f": {override.note}" if override.note else ""),
                    user_id=override.user_id,
                    level=override.level,
                )
            )
        for user_id, periods in away.items():
            for period in _clip(periods, day_start, day_end):
                row.away.append(
                    _chip(
                        person_label(period.profile.user),
                        period,
                        day_start,
                        day_end,
                        "away",
                        note=period.note,
                        user_id=user_id,
                    )
                )
        days.append(row)
    return Week(
        schedule=schedule,
        tz=tz,
        monday=monday,
        days=days,
        layer_names=layer_names,
        previous=monday - timedelta(days=7),
        next=monday + timedelta(days=7),
    )


def schedule_history(schedule: Schedule, limit: int = 20) -> list[ScheduleEvent]:
    return list(schedule.history.select_related("actor")[:limit])


def open_swaps_for(user: AbstractBaseUser) -> list[ShiftSwap]:
    """Swaps that wait for this person's answer, or that they asked for and nobody answered yet."""
    return list(
        ShiftSwap.objects.filter(status=ShiftSwap.Status.REQUESTED, ends_at__gt=timezone.now())
        .filter(Q(colleague=user) | Q(requester=user))
        .select_related("schedule", "requester", "colleague")
        .order_by("starts_at")[:20]
    )


# --- Shifts of a person ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Shift:
    """A stretch of time one person is on call at one level of one schedule."""

    schedule: Schedule
    level: int
    user: AbstractBaseUser
    starts_at: datetime
    ends_at: datetime

    @property
    def level_label(self) -> str:
        return LEVEL_LABELS[OnCallLevel(self.level)]


def shifts_from_segments(schedule: Schedule, segments: Sequence[OnCallSegment]) -> list[Shift]:
    """Consecutive segments with the same person at a level become one shift."""
    shifts: list[Shift] = []
    for level in (OnCallLevel.PRIMARY, OnCallLevel.BACKUP):
        current: Shift | None = None
        for segment in segments:
            user = segment.oncall.primary if level == OnCallLevel.PRIMARY else segment.oncall.backup
            if (
                current is not None
                and user is not None
                and user.pk == current.user.pk
                and (current.ends_at == segment.starts_at)
            ):
                current = Shift(schedule, level, user, current.starts_at, segment.ends_at)
                continue
            if current is not None:
                shifts.append(current)
            current = Shift(schedule, level, user, segment.starts_at, segment.ends_at) if user else None
        if current is not None:
            shifts.append(current)
    return sorted(shifts, key=lambda s: (s.starts_at, s.level))


def schedule_shifts(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    return shifts_from_segments(schedule, oncall_segments(schedule, start, end))


def person_shifts(user: AbstractBaseUser, start: datetime, end: datetime) -> list[Shift]:
    """Every shift of this person over [start, end), on every schedule."""
    found = []
    for schedule in schedules_with_rosters_since(start):
        found += [s for s in schedule_shifts(schedule, start, end) if s.user.pk == user.pk]
    return sorted(found, key=lambda s: (s.starts_at, s.schedule.name))


def feed_window(now: datetime | None = None) -> tuple[datetime, datetime]:
    now = now or timezone.now()
    return now - FEED_PAST, now + timedelta(days=settings.ROLES_CALENDAR_FEED_DAYS)


# --- iCalendar ------------------------------------------------------------------------------------------


def _calendar(name: str) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Coolhead//On-call calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    # Calendar apps that honour it refresh the feed this often.
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    return calendar


def _event(shift: Shift, *, summary: str, stamp: datetime) -> icalendar.Event:
    event = icalendar.Event()
    start_utc = shift.starts_at.astimezone(UTC)
    event.add(
        "uid", f"oncall-{shift.schedule.pk}-{shift.level}-{shift.user.pk}-{start_utc:%Y%m%dT%H%M%SZ}@coolhead"
    )
    event.add("dtstamp", stamp)
    event.add("dtstart", start_utc)
    event.add("dtend", shift.ends_at.astimezone(UTC))
    event.add("summary", summary)
    url = settings.SITE_URL + reverse("roles:schedule_week", kwargs={"schedule_id": shift.schedule.pk})
    event.add(
        "description",
        f"{person_label(shift.user)} is {shift.level_label} on call for {shift.schedule}.\n{url}",
    )
    event.add("url", url)
    event.add("transp", "OPAQUE" if shift.level == OnCallLevel.PRIMARY else "TRANSPARENT")
    event.add("categories", ["On call", shift.level_label])
    return event


def schedule_calendar(schedule_id: int, now: datetime | None = None) -> bytes | None:
    start, end = feed_window(now)
    schedule = schedule_with_roster(schedule_id, since=start)
    if schedule is None:
        return None
    calendar = _calendar(f"On call: {schedule.name}")
    stamp = timezone.now()
    for shift in schedule_shifts(schedule, start, end):
        summary = f"{person_label(shift.user)} on call ({shift.level_label}) – {schedule.name}"
        calendar.add_component(_event(shift, summary=summary, stamp=stamp))
    return calendar.to_ical()


def person_calendar(user: AbstractBaseUser, now: datetime | None = None) -> bytes:
    start, end = feed_window(now)
    calendar = _calendar(f"My on-call shifts ({person_label(user)})")
    stamp = timezone.now()
    for shift in person_shifts(user, start, end):
        summary = f"On call ({shift.level_label}): {shift.schedule.name}"
        calendar.add_component(_event(shift, summary=summary, stamp=stamp))
    return calendar.to_ical()
