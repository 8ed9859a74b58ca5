"""Reads shared by pages and the API.

The rule for restricted (security) incidents lives here and only here: every
surface that shows an incident starts from incidents_visible_to().
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db.models import Case, Count, Exists, OuterRef, Q, QuerySet, Subquery, When
from django.http import Http404

from incidents import hooks
from incidents.models import Change, Decision, Hypothesis, Incident, Participation, TimelineEntry
from incidents.permissions import is_admin
from incidents.services import room_revision_key


def can_see_everything(user: AbstractBaseUser | AnonymousUser) -> bool:
    return is_admin(user)


def incidents_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Incident]:
    if not (user.is_authenticated and user.is_active):
        return Incident.objects.none()
    if can_see_everything(user):
        return Incident.objects.all()
    takes_part = Participation.objects.filter(incident=OuterRef("pk"), user=user)
    return Incident.objects.filter(Q(is_security=False) | Q(Exists(takes_part)))


def who_can_see(*, incident: Incident, people: Iterable[AbstractBaseUser]) -> list[AbstractBaseUser]:
    """Of these people, those who may see the incident: who a message about it may reach."""
    people = [person for person in people if person.is_active]
    if not incident.is_security:
        return people
    takes_part = set(
        Participation.objects.filter(incident=incident, user__in=people).values_list("user_id", flat=True)
    )
    return [person for person in people if can_see_everything(person) or person.pk in takes_part]


def incident_get(*, user: AbstractBaseUser | AnonymousUser, number: int) -> Incident:
    """The incident, or a 404 that says nothing about whether a restricted one exists."""
    try:
        return incidents_visible_to(user).select_related("declared_by").get(number=number)
    except Incident.DoesNotExist:
        raise Http404("No such incident") from None


@dataclass(frozen=True)
class IncidentFilters:
    q: str = ""
    status: str = ""  # a status, or "open" / "closed"
    severity: int | None = None
    declared_from: date | None = None
    declared_to: date | None = None


def incident_list(*, user: AbstractBaseUser | AnonymousUser, filters: IncidentFilters) -> QuerySet[Incident]:
    qs = incidents_visible_to(user)
    if filters.q:
        term = filters.q.strip()
        match = Q(title__icontains=term) | Q(summary__icontains=term)
        number = term.upper().removeprefix("INC-")
        # isdecimal, not isdigit: "²" is a digit that int() refuses.
        if number.isdecimal() and len(number) < 10:
            match |= Q(number=int(number))
        qs = qs.filter(match)
    if filters.status == "open":
        qs = qs.filter(status__in=Incident.OPEN_STATUSES)
    elif filters.status == "closed":
        qs = qs.filter(status__in=Incident.CLOSED_STATUSES)
    elif filters.status:
        qs = qs.filter(status=filters.status)
    if filters.severity:
        qs = qs.filter(severity=filters.severity)
    if filters.declared_from:
        qs = qs.filter(declared_at__date__gte=filters.declared_from)
    if filters.declared_to:
        qs = qs.filter(declared_at__date__lte=filters.declared_to)
    return qs.order_by("-declared_at", "-number")


def open_incidents_for_dashboard(user: AbstractBaseUser) -> list[Incident]:
    """Open incidents, most severe first, each with its last entry and role holders.

    Three queries whatever the number of incidents or entries.
    """
    newest_entry = (
        TimelineEntry.objects.filter(incident=OuterRef("pk"), struck_at__isnull=True)
        .order_by("-occurred_at", "-id")
        .values("id")[:1]
    )
    incidents = list(
        incidents_visible_to(user)
        .filter(status__in=Incident.OPEN_STATUSES)
        .annotate(last_entry_id=Subquery(newest_entry))
        .order_by("severity", "declared_at")
    )
    entries = TimelineEntry.objects.filter(
        id__in=[i.last_entry_id for i in incidents if i.last_entry_id]
    ).select_related("author")
    latest = {entry.pk: entry for entry in entries} if incidents else {}
    holders = hooks.role_holders(i.pk for i in incidents)
    for incident in incidents:
        incident.last_entry = latest.get(incident.last_entry_id)
        incident.role_holders = holders.get(incident.pk, [])
    return incidents


# --- The live room -----------------------------------------------------------------


@dataclass(frozen=True)
class TimelineCursor:
    """Where an older page of the timeline starts: strictly before this entry."""

    occurred_at: datetime
    entry_id: int

    def encode(self) -> str:
        return f"{self.occurred_at.isoformat()}_{self.entry_id}"

    @classmethod
    def decode(cls, value: str) -> "TimelineCursor | None":
        when, _, entry_id = value.rpartition("_")
        try:
            occurred_at, entry_id = datetime.fromisoformat(when), int(entry_id)
            # Only what encode() wrote: a naive time would be compared in whatever
            # zone the server runs in (and warns), an absurd id cannot be an entry.
            if occurred_at.tzinfo is None or not 0 < entry_id < 2**63:
                return None
            # In UTC: PostgreSQL refuses offsets Python accepts (-23:59).
            return cls(occurred_at.astimezone(UTC), entry_id)
        except (ValueError, OverflowError):
            return None


def timeline_page(
    *, incident: Incident, before: TimelineCursor | None, size: int, workstream: int | None = None
) -> tuple[list[TimelineEntry], TimelineCursor | None]:
    """One page of the timeline, newest first, and the cursor of the next older page.

    `workstream`: only the entries tagged to that sub-team (data["workstream"]).
    """
    qs = incident.timeline.select_related("author", "struck_by").order_by("-occurred_at", "-id")
    if workstream is not None:
        qs = qs.filter(data__workstream=workstream)
    if before is not None:
        qs = qs.filter(
            Q(occurred_at__lt=before.occurred_at) | Q(occurred_at=before.occurred_at, id__lt=before.entry_id)
        )
    entries = list(qs[: size + 1])
    if len(entries) > size:
        last = entries[size - 1]
        return entries[:size], TimelineCursor(last.occurred_at, last.pk)
    return entries, None


def room_revision(*, user: AbstractBaseUser, incident_id: int) -> int | None:
    """The incident's revision for a polling room, or None when the user may not see it.

    The answer usually comes from the cache the services fill on commit; the
    database is read when the cache is cold or down, or the incident is restricted.
    """
    try:
        cached = cache.get(room_revision_key(incident_id))
    except Exception:  # noqa: BLE001 - a cache outage degrades to a database read
        cached = None
    if cached is not None:
        revision, restricted = cached
        if not restricted and user.is_authenticated and user.is_active:
            return revision
    row = incidents_visible_to(user).filter(pk=incident_id).values_list("revision", "is_security").first()
    if row is None:
        return None
    try:
        cache.set(room_revision_key(incident_id), row, timeout=24 * 3600)
    except Exception:  # noqa: BLE001
        pass
    return row[0]


def timeline_changes_since(
    *, incident: Incident, revision: int
) -> tuple[list[TimelineEntry], list[TimelineEntry]]:
    """Entries written after `revision` (newest first) and older entries changed since."""
    changed = list(
        incident.timeline.filter(revision__gt=revision)
        .select_related("author", "struck_by")
        .order_by("-occurred_at", "-id")
    )
    new = [entry for entry in changed if entry.revision_created > revision]
    edited = [entry for entry in changed if entry.revision_created <= revision]
    return new, edited


# --- The response tools in the room ------------------------------------------------------------------

# Each list in the room shows at most this many rows; the API lists them all.
TOOLS_LIST_LIMIT = 50


@dataclass
class ResponseTools:
    """What the room's response-tool panels show, read in a fixed number of queries."""

    hypotheses: list  # open first, then the decided ones, newest decision first
    open_hypotheses: int
    decisions: list  # active first
    changes_in_place: list
    changes_in_place_count: int
    verifications: list  # since the last reopen
    more_hypotheses: int = 0
    more_decisions: int = 0


def response_tools(incident: Incident) -> ResponseTools:
    """Hypotheses, decisions, changes still in place and verification steps: four queries
    (and a count when a list is cut at TOOLS_LIST_LIMIT)."""
    hypotheses = list(
        incident.hypotheses.select_related("raised_by", "decided_by").order_by(
            Case(When(state=Hypothesis.State.OPEN, then=0), default=1), "-decided_at", "raised_at", "pk"
        )[:TOOLS_LIST_LIMIT]
    )
    more_hypotheses = 0
    open_hypotheses = sum(1 for h in hypotheses if h.is_open)
    if len(hypotheses) == TOOLS_LIST_LIMIT:
        # The list is cut: the board's "N open" counts every open one, not the first fifty.
        counts = incident.hypotheses.aggregate(
            total=Count("pk"), open=Count("pk", filter=Q(state=Hypothesis.State.OPEN))
        )
        more_hypotheses = counts["total"] - TOOLS_LIST_LIMIT
        open_hypotheses = counts["open"]
    decisions = list(
        incident.decisions.select_related("decided_by", "hypothesis").order_by(
            Case(When(state=Decision.State.ACTIVE, then=0), default=1), "-decided_at", "-pk"
        )[:TOOLS_LIST_LIMIT]
    )
    more_decisions = 0
    if len(decisions) == TOOLS_LIST_LIMIT:
        more_decisions = incident.decisions.count() - TOOLS_LIST_LIMIT
    in_place = incident.changes.filter(state=Change.State.IN_PLACE, restores__isnull=True)
    changes = list(in_place.select_related("recorded_by").order_by("occurred_at", "pk")[:TOOLS_LIST_LIMIT])
    verifications = incident.verifications.select_related("checked_by")
    verifications = verifications.exclude(entry__struck_at__isnull=False)
    if incident.reopened_at is not None:
        verifications = verifications.filter(checked_at__gte=incident.reopened_at)
    return ResponseTools(
        hypotheses=hypotheses,
        open_hypotheses=open_hypotheses,
        decisions=decisions,
        changes_in_place=changes,
        changes_in_place_count=len(changes) if len(changes) < TOOLS_LIST_LIMIT else in_place.count(),
        verifications=list(verifications.order_by("-checked_at", "-pk")[:TOOLS_LIST_LIMIT]),
        more_hypotheses=more_hypotheses,
        more_decisions=more_decisions,
    )


def details_choices(incident: Incident) -> dict:
    """The services and components the header's edit form offers, and those the incident has.

    They belong to roles and statuspage, above this app: reached through the
    incident's relations, not imported. Four queries.
    """
    related = Incident._meta.get_field
    return {
        "services": list(related("services").related_model.objects.only("pk", "name").order_by("name")),
        "components": list(
            related("components")
            .related_model.objects.filter(is_group=False)
            .only("pk", "name")
            .order_by("name")
        ),
        "chosen_services": set(incident.services.values_list("pk", flat=True)),
        "chosen_components": set(incident.components.values_list("pk", flat=True)),
    }
