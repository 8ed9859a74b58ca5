"""Reads for the public page, its JSON, its feeds, and the room's publish page.

Only published things are read here: PublicIncident rows exist because a person
published them, so no internal incident reaches a public surface through this
module. The room-side permission (who may publish) starts from
incidents.selectors.incident_get, the one visibility rule.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from statuspage.models import (
    ACTIVE_MAINTENANCE_STATUSES,
    COMPONENT_STATUS_RANK,
    UNRESOLVED_STATUSES,
    Component,
    ComponentStatus,
    ComponentStatusChange,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
    PageSettings,
    PublicIncident,
    PublicUpdate,
    UpdateTemplate,
)

RECENT_LIMIT = 50  # Statuspage's incidents.json and scheduled-maintenances.json hold 50.
UPTIME_DAYS = 90

DEFAULT_TEMPLATES = {
    "investigating": "We are investigating reports of problems with {components}. "
    "We will post an update as soon as we know more.",
    "identified": "We have identified the cause of the problems with {components} and are working on a fix.",
    "monitoring": "A fix has been put in place and we are monitoring the results.",
    "resolved": "This incident has been resolved. Thank you for your patience.",
}


def page_settings() -> PageSettings:
    settings_row, _ = PageSettings.objects.get_or_create(pk=1)
    return settings_row


def update_template(status: str) -> str:
    row = UpdateTemplate.objects.filter(status=status).first()
    return row.body if row else DEFAULT_TEMPLATES.get(status, "")


# --- Components ------------------------------------------------------------------------


def worst_status(statuses: list[str]) -> str:
    if not statuses:
        return ComponentStatus.OPERATIONAL
    return max(statuses, key=lambda s: COMPONENT_STATUS_RANK[s])


@dataclass
class ComponentNode:
    component: Component
    status: str
    children: list["ComponentNode"] = field(default_factory=list)
    uptime: "UptimeSeries | None" = None

    @property
    def is_group(self) -> bool:
        return self.component.is_group

    @property
    def status_label(self) -> str:
        return ComponentStatus(self.status).label

    @property
    def visible(self) -> bool:
        if self.is_group:
            return any(child.visible for child in self.children)
        return not (self.component.only_show_if_degraded and self.status == ComponentStatus.OPERATIONAL)


def component_tree(components: list[Component] | None = None) -> list[ComponentNode]:
    """Top-level components and groups in page order; a group's status is its worst child's."""
    if components is None:
        components = list(Component.objects.order_by("position", "name", "id"))
    children: dict[int, list[Component]] = defaultdict(list)
    top: list[Component] = []
    by_id = {c.pk: c for c in components}
    for component in components:
        if component.group_id and component.group_id in by_id and not component.is_group:
            children[component.group_id].append(component)
        else:
            top.append(component)
    tree = []
    for component in top:
        kids = [ComponentNode(child, child.status) for child in children.get(component.pk, [])]
        status = worst_status([k.status for k in kids]) if component.is_group else component.status
        tree.append(ComponentNode(component, status, kids))
    return tree


def flatten(tree: list[ComponentNode]) -> list[ComponentNode]:
    flat = []
    for node in tree:
        flat.append(node)
        flat.extend(node.children)
    return flat


# --- The overall indicator ---------------------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    indicator: str  # none | minor | major | critical | maintenance
    description: str


INDICATOR_RANK = {"none": 0, "maintenance": 1, "minor": 2, "major": 3, "critical": 4}
IMPACT_INDICATOR = {
    "minor": Indicator("minor", "Minor Service Outage"),
    "major": Indicator("major", "Partial System Outage"),
    "critical": Indicator("critical", "Major Service Outage"),
}


def overall_indicator(
    *, component_statuses: list[str], unresolved_impacts: list[str], maintenance_active: bool
) -> Indicator:
    """Statuspage's roll-up: the worst of the components and of the unresolved incidents."""
    statuses = set(component_statuses)
    candidates = [Indicator("none", "All Systems Operational")]
    if maintenance_active or ComponentStatus.UNDER_MAINTENANCE in statuses:
        candidates.append(Indicator("maintenance", "Service Under Maintenance"))
    if ComponentStatus.DEGRADED_PERFORMANCE in statuses:
        candidates.append(Indicator("minor", "Partially Degraded Service"))
    if ComponentStatus.PARTIAL_OUTAGE in statuses:
        candidates.append(Indicator("minor", "Minor Service Outage"))
    if ComponentStatus.MAJOR_OUTAGE in statuses:
        every = statuses == {ComponentStatus.MAJOR_OUTAGE}
        candidates.append(
            Indicator("critical", "Major Service Outage")
            if every
            else Indicator("major", "Partial System Outage")
        )
    for impact in unresolved_impacts:
        if impact in IMPACT_INDICATOR:
            candidates.append(IMPACT_INDICATOR[impact])
    # Later candidates win ties: a partial outage says more than degraded performance.
    best = candidates[0]
    for candidate in candidates[1:]:
        if INDICATOR_RANK[candidate.indicator] >= INDICATOR_RANK[best.indicator]:
            best = candidate
    return best


# --- Uptime --------------------------------------------------------------------------------

# Statuspage counts a major outage as fully down and a partial outage as 30% down.
DOWNTIME_WEIGHT = {ComponentStatus.MAJOR_OUTAGE: 1.0, ComponentStatus.PARTIAL_OUTAGE: 0.3}


@dataclass
class UptimeDay:
    day: date
    worst: str | None  # None: no data (before the component existed)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def css(self) -> str:
        return self.worst or "nodata"

    @property
    def label(self) -> str:
        if self.worst is None:
            return f"{self.day:%b %-d}: no data"
        parts = [
            f"{ComponentStatus(status).label.lower()} {round(secs / 60)} min"
            for status, secs in sorted(self.seconds.items(), key=lambda kv: -COMPONENT_STATUS_RANK[kv[0]])
            if status != ComponentStatus.OPERATIONAL and secs >= 60
        ]
        return f"{self.day:%b %-d}: " + (", ".join(parts) if parts else "no downtime recorded")


@dataclass
class UptimeSeries:
    days: list[UptimeDay]
    percent: float | None


def uptime_for(
    components: list[Component], *, zone, now: datetime | None = None, days: int = UPTIME_DAYS
) -> dict[int, UptimeSeries]:
    """Day-by-day status of each component over the last `days` days, from its kept history.

    One query: the changes inside the window. The status at the start of the
    window is the first change's old status (or the current one if nothing changed).
    """
    now = now or timezone.now()
    today = now.astimezone(zone).date()
    first_day = today - timedelta(days=days - 1)
    window_start = datetime.combine(first_day, time.min, tzinfo=zone)
    changes: dict[int, list[ComponentStatusChange]] = defaultdict(list)
    for change in ComponentStatusChange.objects.filter(
        changed_at__gte=window_start, component__in=[c.pk for c in components]
    ).order_by("changed_at", "id"):
        changes[change.component_id].append(change)

    result = {}
    for component in components:
        history = changes.get(component.pk, [])
        status = history[0].old_status if history else component.status
        born = component.created_at
        if component.start_date:
            born = min(born, datetime.combine(component.start_date, time.min, tzinfo=zone))
        # Segments (start, end, status), clipped to the component's life and the window.
        segments = []
        cursor = max(window_start, born)
        for change in history:
            if change.changed_at > cursor:
                segments.append((cursor, change.changed_at, status))
            cursor = max(cursor, change.changed_at)
            status = change.new_status
        if now > cursor:
            segments.append((cursor, now, status))
        series = []
        total = weighted = 0.0
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            start = datetime.combine(day, time.min, tzinfo=zone)
            end = min(start + timedelta(days=1), now)
            seconds: dict[str, float] = defaultdict(float)
            for seg_start, seg_end, seg_status in segments:
                overlap = (min(seg_end, end) - max(seg_start, start)).total_seconds()
                if overlap > 0:
                    seconds[seg_status] += overlap
            if not seconds:
                series.append(UptimeDay(day, None))
                continue
            worst = worst_status(list(seconds))
            series.append(UptimeDay(day, worst, dict(seconds)))
            for seg_status, secs in seconds.items():
                total += secs
                weighted += secs * DOWNTIME_WEIGHT.get(seg_status, 0.0)
        percent = round(100 * (1 - weighted / total), 2) if total else None
        result[component.pk] = UptimeSeries(series, percent)
    return result


# --- Incidents and maintenance ---------------------------------------------------------------


def _with_updates(qs: QuerySet[PublicIncident]) -> QuerySet[PublicIncident]:
    return qs.prefetch_related(
        Prefetch("updates", queryset=PublicUpdate.objects.order_by("-display_at", "-id")),
        Prefetch("components", queryset=Component.objects.order_by("position", "name", "id")),
    )


def public_incidents_recent(limit: int = RECENT_LIMIT) -> list[PublicIncident]:
    return list(_with_updates(PublicIncident.objects.order_by("-created_at", "-id"))[:limit])


def public_incidents_unresolved() -> list[PublicIncident]:
    return list(
        _with_updates(PublicIncident.objects.filter(status__in=UNRESOLVED_STATUSES)).order_by(
            "-created_at", "-id"
        )
    )


def incident_status_page_link(incident) -> str:
    """The public page of an incident once it is published there, for where to join; "" before.

    Reads the incident's reverse relation, which Django keeps on the instance (the
    publish service sets it too), so a message that asks twice queries once.
    """
    if incident.pk is None:
        return ""
    try:
        public_incident = incident.public_incident
    except PublicIncident.DoesNotExist:
        return ""
    return f"{page_settings().public_url}/incidents/{public_incident.public_id}"


def public_incident_by_id(public_id: str) -> PublicIncident | None:
    return _with_updates(PublicIncident.objects.filter(public_id=public_id)).first()


def _maintenance_with_updates(qs: QuerySet[Maintenance]) -> QuerySet[Maintenance]:
    return qs.prefetch_related(
        Prefetch("updates", queryset=MaintenanceUpdate.objects.order_by("-display_at", "-id")),
        Prefetch("components", queryset=Component.objects.order_by("position", "name", "id")),
    )


def maintenances_recent(limit: int = RECENT_LIMIT) -> list[Maintenance]:
    return list(_maintenance_with_updates(Maintenance.objects.order_by("-scheduled_for", "-id"))[:limit])


def maintenances_upcoming() -> list[Maintenance]:
    return list(
        _maintenance_with_updates(
            Maintenance.objects.filter(status=MaintenanceStatus.SCHEDULED).order_by("scheduled_for", "id")
        )
    )


def maintenances_active() -> list[Maintenance]:
    return list(
        _maintenance_with_updates(
            Maintenance.objects.filter(status__in=ACTIVE_MAINTENANCE_STATUSES).order_by("scheduled_for", "id")
        )
    )


def maintenance_by_id(public_id: str) -> Maintenance | None:
    return _maintenance_with_updates(Maintenance.objects.filter(public_id=public_id)).first()


def maintenances_due_to_start(now: datetime) -> QuerySet[Maintenance]:
    return Maintenance.objects.filter(
        status=MaintenanceStatus.SCHEDULED, auto_start=True, scheduled_for__lte=now
    ).order_by("scheduled_for")


def maintenances_due_to_complete(now: datetime) -> QuerySet[Maintenance]:
    return Maintenance.objects.filter(
        status__in=ACTIVE_MAINTENANCE_STATUSES, auto_complete=True, scheduled_until__lte=now
    ).order_by("scheduled_until")
