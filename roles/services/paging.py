"""Sending a page: to a person, a service's owners, a schedule, or the on-call Incident Commander.

Builds the escalation chain (who is paged at each step), notifies the first
step and schedules the escalation; escalation.py moves it along from there.
"""

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from core.tasks import enqueue
from incidents.models import Incident, Participation, TimelineEntry
from incidents.services import timeline_record
from roles.models import IncidentRole, Page, Schedule, Service
from roles.selectors import (
    ic_schedule,
    is_out_of_office,
    oncall_at,
    profile_for,
    rotation_after,
    team_in_paging_order,
)
from roles.services.common import RoleError, person_name
from roles.services.notification_rules import page_notify_person

logger = logging.getLogger(__name__)

# roles/tasks.py, which calls back into these services.
ESCALATE_TASK = "roles.page_escalate"
User = get_user_model()


def _reachable(users, now: datetime) -> list[AbstractBaseUser]:
    seen: set[int] = set()
    found = []
    for user in users:
        if user is None or not user.is_active or user.pk in seen or is_out_of_office(user, now):
            continue
        seen.add(user.pk)
        found.append(user)
    return found


def service_chain(service: Service, when: datetime) -> list[AbstractBaseUser]:
    """Who a page for the service reaches, step by step: the primary owner, else (out of office)
    the secondary, then the rest of its team; nobody inactive or out of office at `when`."""
    owners = _reachable([service.primary_owner, service.secondary_owner], when)
    if service.team_id:
        team = _reachable(team_in_paging_order(service.team), when)
        owners += [u for u in team if u.pk not in {o.pk for o in owners}]
    return owners


def _service_steps(service: Service, now: datetime) -> list[list[int]]:
    return [[u.pk] for u in service_chain(service, now)]


class ServiceNext(NamedTuple):
    at: datetime
    answers: AbstractBaseUser | None


class ServiceOnCall(NamedTuple):
    service: Service
    answers: AbstractBaseUser | None  # who a page reaches first now
    next: ServiceNext | None  # when that changes within `ahead`, and to whom


def service_oncall(service: Service, now: datetime, *, ahead: timedelta) -> ServiceOnCall:
    """Who answers a page for the service now, and who next.

    Owners are fixed, so the answer changes only where an out-of-office period of someone in the
    chain starts or ends: ask the paging rule at each such moment within `ahead`.
    """
    first = _first(service_chain(service, now))
    people = [service.primary_owner, service.secondary_owner]
    if service.team_id:
        people += team_in_paging_order(service.team)
    moments = sorted(
        {
            moment
            for user in people
            if user is not None and profile_for(user).pk is not None
            for period in profile_for(user).out_of_office.all()
            for moment in (period.starts_at, period.ends_at)
            if now < moment <= now + ahead
        }
    )
    for moment in moments:
        then = _first(service_chain(service, moment))
        if _pk(then) != _pk(first):
            return ServiceOnCall(service, first, ServiceNext(moment, then))
    return ServiceOnCall(service, first, None)


def _first(users: list[AbstractBaseUser]) -> AbstractBaseUser | None:
    return users[0] if users else None


def _pk(user: AbstractBaseUser | None) -> int | None:
    return user.pk if user is not None else None


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


def notify_page_targets(page: Page, user_ids: Sequence[int]) -> list[AbstractBaseUser]:
    users = list(User.objects.filter(pk__in=user_ids))
    users.sort(key=lambda u: list(user_ids).index(u.pk))
    for user in users:
        # A page is an invitation: the person can open a restricted incident.
        Participation.objects.get_or_create(incident=page.incident, user=user)
        page.notified.add(user)
        # At once, or step by step by the person's notification rules.
        page_notify_person(page, user)
    return users


def schedule_escalation(page: Page) -> None:
    page_id, token, eta = page.pk, str(page.escalation_token), page.escalates_at

    def enqueue_escalation() -> None:
        try:
            enqueue(ESCALATE_TASK, page_id, token, eta=eta)
        except Exception:  # noqa: BLE001 - the beat sweep escalates overdue pages too
            logger.warning("Could not schedule the escalation of page %s", page_id, exc_info=True)

    transaction.on_commit(enqueue_escalation)


def names_of(users: Sequence[AbstractBaseUser]) -> str:
    names = [person_name(u) for u in users]
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
            raise RoleError(f"{person_name(person)} is not an active user and cannot be paged.")
        target, steps, minutes, what = (
            Page.Target.PERSON,
            [[person.pk]],
            settings.ROLES_PERSON_ESCALATION_MINUTES,
            "",
        )
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
    users = notify_page_targets(page, steps[0])
    body = f"Paged {names_of(users)}{what}"
    if page.message:
        body += f": {page.message}"
    timeline_record(
        incident=incident,
        kind=TimelineEntry.Kind.PAGE,
        body=body,
        author=by,
        data={"page": page.pk, "target": target, "notified": [u.pk for u in users], "level": 0},
    )
    schedule_escalation(page)
    return page
