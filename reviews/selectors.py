"""Reads of reviews and follow-ups shared by pages, the API, reminders and exports.

Visibility is the incident's: everything here starts from
incidents.selectors.incidents_visible_to(), so a restricted incident's review,
follow-ups and counts reach only its participants and admins.
"""

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import F, QuerySet
from django.http import Http404
from django.utils import timezone

from incidents.models import Incident
from incidents.selectors import can_see_everything, incident_get, incidents_visible_to
from reviews.models import FollowUp, Review

Person = AbstractBaseUser | AnonymousUser


def _visible(qs: QuerySet, user: Person, field: str = "incident") -> QuerySet:
    if not (user.is_authenticated and user.is_active):
        return qs.none()
    if can_see_everything(user):
        return qs
    return qs.filter(**{f"{field}__in": incidents_visible_to(user).values("pk")})


def reviews_visible_to(user: Person) -> QuerySet[Review]:
    return _visible(Review.objects.all(), user)


def follow_ups_visible_to(user: Person) -> QuerySet[FollowUp]:
    return _visible(FollowUp.objects.all(), user)


def review_for(*, user: Person, number: int) -> tuple[Incident, Review | None]:
    """The incident (a 404 if this person may not see it) and its review, if it has one."""
    incident = incident_get(user=user, number=number)
    review = Review.objects.select_related("owner", "published_by").filter(incident=incident).first()
    if review is not None:
        review.incident = incident
    return incident, review


def review_get(*, user: Person, number: int) -> tuple[Incident, Review]:
    incident, review = review_for(user=user, number=number)
    if review is None:
        raise Http404("No review yet")
    return incident, review


def follow_up_get(*, user: Person, pk: int) -> FollowUp:
    follow_up = (
        follow_ups_visible_to(user)
        .select_related("incident", "owner", "review", "created_by")
        .filter(pk=pk)
        .first()
    )
    if follow_up is None:
        raise Http404("No such follow-up")
    return follow_up


# --- Lists -------------------------------------------------------------------------------------------

FOLLOW_UP_VIEWS = {"mine": "Mine", "team": "My teams'", "overdue": "Overdue", "all": "All"}
FOLLOW_UP_SORTS = {
    "due": ("due_on", "priority", "pk"),
    "priority": ("priority", "due_on", "pk"),
    "newest": ("-created_at", "-pk"),
    "incident": ("-incident__number", "due_on", "pk"),
}


@dataclass(frozen=True)
class FollowUpFilters:
    view: str = "mine"
    state: str = "open"  # open (open + in progress), closed, a state, or "" for any
    incident: int | None = None  # incident number
    service: int | None = None  # service id
    priority: int | None = None
    sort: str = "due"


def follow_up_list(
    *, user: Person, filters: FollowUpFilters, today: date | None = None
) -> QuerySet[FollowUp]:
    today = today or timezone.localdate()
    qs = follow_ups_visible_to(user).select_related("incident", "owner")
    if filters.view == "mine":
        qs = qs.filter(owner=user)
    elif filters.view == "team":
        qs = qs.filter(owner__teams__in=user.teams.all()).distinct()
    elif filters.view == "overdue":
        qs = qs.filter(state__in=FollowUp.OPEN_STATES, due_on__lt=today)
    if filters.state == "open":
        qs = qs.filter(state__in=FollowUp.OPEN_STATES)
    elif filters.state == "closed":
        qs = qs.filter(state__in=FollowUp.CLOSED_STATES)
    elif filters.state in FollowUp.State.values:
        qs = qs.filter(state=filters.state)
    if filters.incident:
        qs = qs.filter(incident__number=filters.incident)
    if filters.service:
        qs = qs.filter(incident__services=filters.service)
    if filters.priority:
        qs = qs.filter(priority=filters.priority)
    return qs.order_by(*FOLLOW_UP_SORTS.get(filters.sort, FOLLOW_UP_SORTS["due"]))


def my_open_follow_ups(user: Person, *, limit: int = 10) -> tuple[list[FollowUp], int]:
    """The dashboard's list: my open follow-ups, overdue and soonest due first; and how many in all."""
    qs = follow_ups_visible_to(user).filter(owner=user, state__in=FollowUp.OPEN_STATES)
    rows = list(
        qs.select_related("incident").order_by(F("due_on").asc(nulls_last=True), "priority", "pk")[
            : limit + 1
        ]
    )
    if len(rows) > limit:
        return rows[:limit], qs.count()
    return rows, len(rows)


REVIEW_VIEWS = {
    "open": "Not published",
    "mine": "Mine",
    "overdue": "Overdue",
    "published": "Published",
    "all": "All",
}


def review_list(*, user: Person, view: str = "open", today: date | None = None) -> QuerySet[Review]:
    today = today or timezone.localdate()
    qs = reviews_visible_to(user).select_related("incident", "owner")
    if view == "open":
        qs = qs.exclude(state=Review.State.PUBLISHED)
    elif view == "mine":
        qs = qs.filter(owner=user)
    elif view == "overdue":
        qs = qs.exclude(state=Review.State.PUBLISHED).filter(due_on__lt=today)
    elif view == "published":
        qs = qs.filter(state=Review.State.PUBLISHED)
    return qs.order_by("due_on", "pk") if view != "published" else qs.order_by("-published_at", "-pk")


def incident_follow_ups(incident: Incident, *, limit: int = 100) -> list[FollowUp]:
    return list(incident.follow_ups.select_related("owner").order_by("state", "due_on", "pk")[:limit])
