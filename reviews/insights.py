"""The numbers across incidents: how often, how fast, who gets paged, whether follow-ups get done.

One call reads everything a window needs in a fixed number of queries (seven),
whatever the history's size: the figures that need per-incident values (medians,
p90) read one narrow row per incident of the window; counts are counted by the
database. The clocks are defined once, in reviews/metrics.py. Restricted
incidents count only for those who may see them (incidents_visible_to).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, F, Q
from django.utils import timezone

from incidents.models import Incident, Severity
from incidents.selectors import can_see_everything, incidents_visible_to
from reviews import metrics
from reviews.models import FollowUp, Review
from roles.models import Page, Profile

WINDOWS = (30, 90, 365)
DEFAULT_WINDOW = 90
User = get_user_model()


@dataclass
class Clock:
    count: int = 0
    median: float | None = None
    p90: float | None = None


@dataclass
class Insights:
    days: int
    since: datetime
    until: datetime
    weeks: list[dict] = field(default_factory=list)
    by_severity: list[dict] = field(default_factory=list)
    by_service: list[dict] = field(default_factory=list)
    pages_by_person: list[dict] = field(default_factory=list)
    follow_ups: dict = field(default_factory=dict)
    reviews: dict = field(default_factory=dict)
    incident_count: int = 0


def window_start(days: int, now: datetime) -> datetime:
    return now - timedelta(days=days)


def visible_incidents(user: AbstractBaseUser | AnonymousUser):
    return incidents_visible_to(user)


def scoped(qs, user, field: str = "incident"):
    if can_see_everything(user):
        return qs
    return qs.filter(**{f"{field}__in": incidents_visible_to(user).values("pk")})


def window_incidents(user, since: datetime):
    """The incidents behind the incident charts: declared in the window, declined ones left out."""
    return visible_incidents(user).filter(declared_at__gte=since).exclude(status=Incident.Status.DECLINED)


def _clock_stats(values: dict[str, list[float]]) -> dict[str, Clock]:
    return {
        name: Clock(count=len(vals), median=metrics.median(vals), p90=metrics.p90(vals))
        for name, vals in values.items()
    }


def _week_start(when: datetime, zone) -> date:
    local = when.astimezone(zone).date()
    return local - timedelta(days=local.weekday())


def in_working_hours(profile: Profile, when: datetime) -> bool:
    """Whether `when` is inside the person's working day, in their own time zone."""
    local = when.astimezone(profile.tz)
    moment = local.time()
    days = profile.working_days or []
    start, end = profile.work_start, profile.work_end
    if end > start:
        return local.weekday() in days and start <= moment < end
    # A working day that ends after midnight belongs to the day it started.
    if moment >= start:
        return local.weekday() in days
    if moment < end:
        return (local.weekday() - 1) % 7 in days
    return False


def insights(*, user: AbstractBaseUser, days: int = DEFAULT_WINDOW, now: datetime | None = None) -> Insights:
    now = now or timezone.now()
    since = window_start(days, now)
    zone = timezone.get_default_timezone()
    result = Insights(days=days, since=since, until=now)

    # 1. One narrow row per incident of the window.
    rows = list(
        window_incidents(user, since).values_list(
            "pk",
            "severity",
            "status",
            "declared_at",
            "detected_at",
            "acknowledged_at",
            "mitigated_at",
            "resolved_at",
        )
    )
    result.incident_count = len(rows)
    weekly: dict[date, dict[int, int]] = defaultdict(lambda: dict.fromkeys(Severity.values, 0))
    per_severity: dict[int, dict[str, list[float]]] = {
        s: {c: [] for c in metrics.CLOCKS} for s in Severity.values
    }
    severity_count: dict[int, int] = dict.fromkeys(Severity.values, 0)
    not_acknowledged: dict[int, int] = dict.fromkeys(Severity.values, 0)
    clocks_by_incident: dict[int, dict[str, float | None]] = {}
    for pk, severity, status, declared, detected, acked, mitigated, resolved in rows:
        weekly[_week_start(declared, zone)][severity] += 1
        severity_count[severity] += 1
        clocks = metrics.clocks(
            status=status,
            detected_at=detected,
            acknowledged_at=acked,
            mitigated_at=mitigated,
            resolved_at=resolved,
        )
        clocks_by_incident[pk] = clocks
        if clocks["to_acknowledge"] is None:
            not_acknowledged[severity] += 1
        for name, value in clocks.items():
            if value is not None:
                per_severity[severity][name].append(value)

    # Every week of the window, empty ones included.
    week = _week_start(since, zone)
    last = _week_start(now, zone)
    while week <= last:
        counts = weekly.get(week, dict.fromkeys(Severity.values, 0))
        result.weeks.append({"start": week, "counts": counts, "total": sum(counts.values())})
        week += timedelta(days=7)

    for severity in Severity.values:
        result.by_severity.append(
            {
                "severity": severity,
                "label": Severity(severity).label,
                "incidents": severity_count[severity],
                "not_acknowledged": not_acknowledged[severity],
                "clocks": _clock_stats(per_severity[severity]),
            }
        )

    # 2. Services of those incidents: (incident, service name) pairs.
    through = Incident.services.through
    pairs = through.objects.filter(incident_id__in=window_incidents(user, since).values("pk")).values_list(
        "incident_id", "service__name"
    )
    per_service: dict[str, dict[str, list[float]]] = defaultdict(lambda: {c: [] for c in metrics.CLOCKS})
    service_count: dict[str, int] = defaultdict(int)
    for incident_id, name in pairs:
        clocks = clocks_by_incident.get(incident_id)
        if clocks is None:
            continue
        service_count[name] += 1
        for clock, value in clocks.items():
            if value is not None:
                per_service[name][clock].append(value)
    for name in sorted(service_count, key=lambda n: (-service_count[n], n)):
        result.by_service.append(
            {"service": name, "incidents": service_count[name], "clocks": _clock_stats(per_service[name])}
        )

    # 3-5. Pages: who was paged when (3), their profiles (4) and names (5).
    notified = Page.notified.through.objects.filter(page__created_at__gte=since)
    notified = scoped(notified, user, "page__incident")
    paged = list(notified.values_list("user_id", "page__created_at"))
    people = {u.pk: u for u in User.objects.filter(pk__in={uid for uid, _ in paged})}
    profiles = {p.user_id: p for p in Profile.objects.filter(user_id__in=list(people))}
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for user_id, when in paged:
        profile = profiles.get(user_id) or Profile(user_id=user_id)
        counts[user_id][0] += 1
        if not in_working_hours(profile, when):
            counts[user_id][1] += 1
    for user_id, (pages, outside) in sorted(counts.items(), key=lambda kv: (-kv[1][0], kv[0])):
        person = people.get(user_id)
        name = (person.get_full_name() or person.get_username()) if person else f"#{user_id}"
        result.pages_by_person.append({"person": name, "pages": pages, "outside_hours": outside})

    # 6. Follow-ups created in the window, counted by the database.
    today = timezone.localdate(now)  # "overdue" as of the moment asked for, as the window is
    follow_ups = scoped(FollowUp.objects.filter(created_at__gte=since), user)
    result.follow_ups = follow_ups.aggregate(
        created=Count("pk"),
        open=Count("pk", filter=Q(state=FollowUp.State.OPEN)),
        in_progress=Count("pk", filter=Q(state=FollowUp.State.IN_PROGRESS)),
        done=Count("pk", filter=Q(state=FollowUp.State.DONE)),
        wont_do=Count("pk", filter=Q(state=FollowUp.State.WONT_DO)),
        overdue=Count("pk", filter=Q(state__in=FollowUp.OPEN_STATES, due_on__lt=today)),
        done_late=Count(
            "pk", filter=Q(state=FollowUp.State.DONE, due_on__isnull=False, closed_at__date__gt=F("due_on"))
        ),
    )
    result.follow_ups["done_on_time"] = result.follow_ups["done"] - result.follow_ups["done_late"]

    # 7. Reviews created in the window.
    reviews = scoped(Review.objects.filter(created_at__gte=since), user)
    published = Q(state=Review.State.PUBLISHED)
    result.reviews = reviews.aggregate(
        total=Count("pk"),
        published_on_time=Count("pk", filter=published & Q(published_at__date__lte=F("due_on"))),
        published_late=Count("pk", filter=published & Q(published_at__date__gt=F("due_on"))),
        overdue=Count("pk", filter=~published & Q(due_on__lt=today)),
        not_yet_due=Count("pk", filter=~published & Q(due_on__gte=today)),
    )
    return result
