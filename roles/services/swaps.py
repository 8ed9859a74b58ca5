"""Shift swaps without an admin, and the secret addresses of calendar feeds.

A responder asks a colleague to cover part of their own shift; the colleague
accepts in one click, which writes an Override for that range (the existing
rule applies: the override created last wins where overrides overlap). Each
step is on the schedule's history and reaches the other person through the
outbox.
"""

from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from roles import permissions
from roles.models import CalendarFeed, OnCallLevel, Override, Schedule, ScheduleEvent, ShiftSwap
from roles.selectors import oncall_segments, schedule_with_roster
from roles.services.common import NotAllowed, RoleError, absolute_url, person_name, send_to

# A swap covers at most this long: longer absences are out-of-office periods or a roster change.
MAX_SWAP = timedelta(days=31)
LEVEL_NAMES = {OnCallLevel.PRIMARY: "primary", OnCallLevel.BACKUP: "backup"}


def _when(value: datetime) -> str:
    return timezone.localtime(value).strftime("%a %d %b %Y %H:%M %Z")


def _range(swap: ShiftSwap) -> str:
    return f"{_when(swap.starts_at)} – {_when(swap.ends_at)}"


def _swap_url(swap: ShiftSwap) -> str:
    return absolute_url(reverse("roles:swap", kwargs={"swap_id": swap.pk}))


def _holds_whole_range(schedule: Schedule, level: int, user: AbstractBaseUser, start, end) -> bool:
    """Is `user` on call at `level` for every moment of [start, end)?"""
    roster = schedule_with_roster(schedule.pk, since=start)
    for segment in oncall_segments(roster, start, end):
        holder = segment.oncall.primary if level == OnCallLevel.PRIMARY else segment.oncall.backup
        if holder is None or holder.pk != user.pk:
            return False
    return True


def _record(swap: ShiftSwap, kind: str, actor: AbstractBaseUser, text: str) -> None:
    ScheduleEvent.objects.create(schedule=swap.schedule, kind=kind, actor=actor, swap=swap, text=text[:500])


def _tell(swap: ShiftSwap, *, to: AbstractBaseUser, subject: str, lines: list[str], step: str) -> None:
    send_to(
        kind="other",
        subject=subject,
        body="\n".join([*lines, "", f"The swap: {_swap_url(swap)}"]),
        to=[to],
        incident=None,
        dedup_key=f"swap:{swap.pk}:{step}:{to.pk}",
    )


@transaction.atomic
def swap_request(
    *,
    schedule: Schedule,
    requester: AbstractBaseUser,
    colleague: AbstractBaseUser,
    starts_at: datetime,
    ends_at: datetime,
    level: int = OnCallLevel.PRIMARY,
    note: str = "",
) -> ShiftSwap:
    """Ask `colleague` to cover [starts_at, ends_at) of the requester's own shift."""
    if not permissions.may_request_swap(requester):
        raise NotAllowed("Only an active responder can ask for a swap.")
    if level not in OnCallLevel.values:
        raise RoleError("Choose primary or backup.")
    if ends_at <= starts_at:
        raise RoleError("The swap must end after it starts.")
    if ends_at - starts_at > MAX_SWAP:
        raise RoleError("A swap covers at most 31 days; for longer, ask an admin to change the roster.")
    if ends_at <= timezone.now():
        raise RoleError("That time is over already.")
    if colleague.pk == requester.pk:
        raise RoleError("Choose a colleague other than yourself.")
    if not colleague.is_active:
        raise RoleError(f"{person_name(colleague)} is not an active user.")
    level_name = LEVEL_NAMES[OnCallLevel(level)]
    if not _holds_whole_range(schedule, level, requester, starts_at, ends_at):
        raise RoleError(
            f"You are not {level_name} on call for {schedule} for the whole of that time: "
            "a swap covers your own shift only."
        )
    swap = ShiftSwap.objects.create(
        schedule=schedule,
        level=level,
        requester=requester,
        colleague=colleague,
        starts_at=starts_at,
        ends_at=ends_at,
        note=" ".join(note.split())[:200],
    )
    _record(
        swap,
        ScheduleEvent.Kind.SWAP_REQUESTED,
        requester,
        f"{person_name(requester)} asked {person_name(colleague)} to cover {level_name} {_range(swap)}.",
    )
    _tell(
        swap,
        to=colleague,
        subject=f"Can you cover {schedule} ({level_name})? {person_name(requester)} asks",
        lines=[
            f"{person_name(requester)} asks you to cover their {level_name} on-call shift on {schedule}:",
            _range(swap),
            *([f"Note: {swap.note}"] if swap.note else []),
            "",
            "Accept or decline in one click on the swap's page.",
        ],
        step="requested",
    )
    return swap


def _locked(swap: ShiftSwap) -> ShiftSwap:
    return (
        ShiftSwap.objects.select_for_update()
        .select_related("schedule", "requester", "colleague")
        .get(pk=swap.pk)
    )


@transaction.atomic
def swap_accept(*, swap: ShiftSwap, by: AbstractBaseUser) -> ShiftSwap:
    """The colleague covers: an override for them over what is left of the range."""
    swap = _locked(swap)
    if not permissions.may_answer_swap(by, swap):
        raise NotAllowed("Only the colleague who was asked can accept this swap.")
    if not swap.is_open:
        raise RoleError(f"This swap is {swap.get_status_display().lower()} already.")
    now = timezone.now()
    if swap.ends_at <= now:
        raise RoleError("This swap's time is over.")
    starts_at = max(swap.starts_at, now)
    level_name = LEVEL_NAMES[OnCallLevel(swap.level)]
    # The roster may have changed since the request (another swap, an admin's override).
    if not _holds_whole_range(swap.schedule, swap.level, swap.requester, starts_at, swap.ends_at):
        raise RoleError(
            f"{person_name(swap.requester)} is no longer {level_name} on call for all of that time: "
            "the roster changed since they asked. Ask them to request the swap again."
        )
    swap.override = Override.objects.create(
        schedule=swap.schedule,
        level=swap.level,
        user=swap.colleague,
        starts_at=starts_at,
        ends_at=swap.ends_at,
        created_at=now,
        note=f"Swap #{swap.pk}: covers {person_name(swap.requester)}"[:200],
    )
    swap.status = ShiftSwap.Status.ACCEPTED
    swap.decided_at = now
    swap.save(update_fields=["override", "status", "decided_at"])
    _record(
        swap,
        ScheduleEvent.Kind.SWAP_ACCEPTED,
        by,
        f"{person_name(swap.colleague)} covers {person_name(swap.requester)} ({level_name}) "
        f"{_when(starts_at)} – {_when(swap.ends_at)}.",
    )
    for to, lines in (
        (swap.requester, [f"{person_name(swap.colleague)} accepted: they cover your {level_name} shift"]),
        (swap.colleague, [f"You cover {person_name(swap.requester)}'s {level_name} shift"]),
    ):
        _tell(
            swap,
            to=to,
            subject=f"Swap accepted: {person_name(swap.colleague)} covers {swap.schedule} ({level_name})",
            lines=[
                *lines,
                f"on {swap.schedule}, {_when(starts_at)} – {_when(swap.ends_at)}.",
                "",
                "Pages for that time go to them.",
            ],
            step="accepted",
        )
    return swap


@transaction.atomic
def swap_decline(*, swap: ShiftSwap, by: AbstractBaseUser) -> ShiftSwap:
    swap = _locked(swap)
    if not permissions.may_answer_swap(by, swap):
        raise NotAllowed("Only the colleague who was asked can decline this swap.")
    if not swap.is_open:
        raise RoleError(f"This swap is {swap.get_status_display().lower()} already.")
    swap.status, swap.decided_at = ShiftSwap.Status.DECLINED, timezone.now()
    swap.save(update_fields=["status", "decided_at"])
    text = f"{person_name(by)} declined to cover {_range(swap)}."
    _record(swap, ScheduleEvent.Kind.SWAP_DECLINED, by, text)
    _tell(
        swap,
        to=swap.requester,
        subject=f"Swap declined: {person_name(swap.colleague)} cannot cover {swap.schedule}",
        lines=[f"{person_name(swap.colleague)} cannot cover {_range(swap)}. Ask someone else."],
        step="declined",
    )
    return swap


@transaction.atomic
def swap_cancel(*, swap: ShiftSwap, by: AbstractBaseUser) -> ShiftSwap:
    swap = _locked(swap)
    if not permissions.may_cancel_swap(by, swap):
        raise NotAllowed("Only the person who asked (or an admin) can cancel this swap.")
    if not swap.is_open:
        raise RoleError(f"This swap is {swap.get_status_display().lower()} already.")
    swap.status, swap.decided_at = ShiftSwap.Status.CANCELLED, timezone.now()
    swap.save(update_fields=["status", "decided_at"])
    text = f"{person_name(by)} cancelled the swap for {_range(swap)}."
    _record(swap, ScheduleEvent.Kind.SWAP_CANCELLED, by, text)
    _tell(
        swap,
        to=swap.colleague,
        subject=f"Swap cancelled: {person_name(swap.requester)} no longer needs cover on {swap.schedule}",
        lines=[f"{person_name(by)} cancelled the request to cover {_range(swap)}."],
        step="cancelled",
    )
    return swap


# --- Calendar feeds ---------------------------------------------------------------------------------


@transaction.atomic
def calendar_feed_issue(
    *, by: AbstractBaseUser, user: AbstractBaseUser | None = None, schedule: Schedule | None = None
) -> CalendarFeed:
    """The feed of a person or a schedule: made on first use, a new secret address after that."""
    if (user is None) == (schedule is None):
        raise RoleError("A calendar feed is a person's or a schedule's.")
    if not permissions.may_issue_feed(by, user_feed=user, schedule=schedule):
        raise NotAllowed(
            "You can rotate your own calendar address; a schedule's, if you are on it or an admin."
        )
    lookup = {"user": user} if user is not None else {"schedule": schedule}
    feed = CalendarFeed.objects.select_for_update().filter(**lookup).first()
    if feed is None:
        return CalendarFeed.objects.create(**lookup)
    feed.key = CalendarFeed._meta.get_field("key").default()
    feed.rotated_at = timezone.now()
    feed.save(update_fields=["key", "rotated_at"])
    if schedule is not None:
        ScheduleEvent.objects.create(
            schedule=schedule,
            kind=ScheduleEvent.Kind.FEED_ROTATED,
            actor=by,
            text=f"{person_name(by)} gave the schedule's calendar a new address; the old one stopped.",
        )
    return feed
