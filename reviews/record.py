"""What the portal already knows about an incident, gathered for its review so that nobody retypes it.

review_record() reads the incident's record in a fixed number of queries and
returns plain JSON-able data: shown by the review page, frozen into the review
when it is published, exported as Markdown and served by the API. Sensitive
change values are masked here, for everyone: a review is read and exported widely.
"""

from datetime import datetime

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from incidents.models import Incident, Severity, TimelineEntry
from incidents.services.tools import MASKED
from reviews import metrics
from reviews.models import Review, ReviewPin
from roles.models import IncidentRole, Page, RoleAssignment
from statuspage.models import (
    COMPONENT_STATUS_RANK,
    ComponentStatus,
    ComponentStatusChange,
    IncidentStatus,
    PublicIncident,
)

Kind = TimelineEntry.Kind
# The generated timeline: the entries that tell the story (the "key entries").
KEY_KINDS = (
    Kind.STATUS,
    Kind.SEVERITY,
    Kind.ROLE,
    Kind.DECISION,
    Kind.CHANGE,
    Kind.FINDING,
    Kind.VERIFICATION,
)
# A review shows at most this many timeline entries (and says how many more there are).
TIMELINE_LIMIT = 400


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _name(user) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.get_username()


def generated_timeline(incident: Incident, review: Review | None) -> tuple[list[dict], int]:
    """The key entries plus the pinned ones, less the unpinned, oldest first; and how many were cut."""
    pinned: set[int] = set()
    unpinned: set[int] = set()
    if review is not None and review.pk:
        for entry_id, included in ReviewPin.objects.filter(review=review).values_list("entry_id", "included"):
            (pinned if included else unpinned).add(entry_id)
    qs = (
        incident.timeline.filter(Q(kind__in=KEY_KINDS) | Q(pk__in=pinned))
        .exclude(pk__in=unpinned)
        .filter(struck_at__isnull=True)
        .select_related("author")
        .order_by("occurred_at", "pk")
    )
    entries = list(qs[: TIMELINE_LIMIT + 1])
    more = 0
    if len(entries) > TIMELINE_LIMIT:
        entries = entries[:TIMELINE_LIMIT]
        more = qs.count() - TIMELINE_LIMIT
    rows = [
        {
            "id": e.pk,
            "at": _iso(e.occurred_at),
            "kind": e.kind,
            "kind_label": e.get_kind_display(),
            "body": e.body,
            "author": _name(e.author),
            "pinned": e.pk in pinned,
        }
        for e in entries
    ]
    return rows, more


def _severity(incident: Incident, severity_entries: list[TimelineEntry]) -> dict:
    changes = []
    for entry in severity_entries:
        data = entry.data if isinstance(entry.data, dict) else {}
        if "from" in data and "to" in data:
            changes.append(
                {
                    "at": _iso(entry.occurred_at),
                    "from": data["from"],
                    "to": data["to"],
                    "from_label": Severity(data["from"]).label,
                    "to_label": Severity(data["to"]).label,
                    "by": _name(entry.author),
                }
            )
    initial = changes[0]["from"] if changes else incident.severity
    seen = [initial] + [c["to"] for c in changes]
    return {
        "initial": initial,
        "initial_label": Severity(initial).label,
        "final": incident.severity,
        "final_label": incident.severity_label,
        "highest": min(seen),
        "highest_label": Severity(min(seen)).label,
        "changes": changes,
    }


def _roles(incident: Incident, end: datetime) -> list[dict]:
    rows = []
    assignments = (
        RoleAssignment.objects.filter(incident=incident).select_related("user").order_by("started_at", "pk")
    )
    for a in assignments:
        stop = a.ended_at or end
        rows.append(
            {
                "role": a.role,
                "role_label": IncidentRole(a.role).label,
                "person": _name(a.user),
                "user_id": a.user_id,
                "started_at": _iso(a.started_at),
                "ended_at": _iso(a.ended_at),
                "seconds": metrics.span(a.started_at, stop),
                "handover_note": a.handover_note,
            }
        )
    return rows


def _pages(incident: Incident) -> list[dict]:
    rows = []
    pages = (
        Page.objects.filter(incident=incident)
        .select_related("acknowledged_by", "service", "schedule")
        .prefetch_related("notified")
        .order_by("created_at", "pk")
    )
    for page in pages:
        target = page.get_target_display()
        if page.service_id:
            target = f"{target}: {page.service.name}"
        elif page.schedule_id:
            target = f"{target}: {page.schedule.name}"
        rows.append(
            {
                "at": _iso(page.created_at),
                "target": target,
                "status": page.status,
                "status_label": page.get_status_display(),
                "notified": [_name(u) for u in page.notified.all()],
                "acknowledged_by": _name(page.acknowledged_by),
                "acknowledged_at": _iso(page.acknowledged_at),
                "seconds_to_acknowledge": metrics.span(page.created_at, page.acknowledged_at),
            }
        )
    return rows


def _public(incident: Incident, now: datetime) -> tuple[dict | None, list[dict]]:
    """The public incident (updates, how long customers saw it) and each component's worst status."""
    public = PublicIncident.objects.filter(incident=incident).prefetch_related("updates").first()
    if public is None:
        return None, []
    updates = sorted(public.updates.all(), key=lambda u: (u.display_at, u.pk))
    changes = list(
        ComponentStatusChange.objects.filter(public_update__public_incident=public)
        .select_related("component")
        .order_by("changed_at", "pk")
    )
    # After the incident's first change of a component, the next change back to
    # operational (by anyone) ends what customers saw of it.
    component_ids = {c.component_id for c in changes}
    later = list(
        ComponentStatusChange.objects.filter(
            component_id__in=component_ids,
            new_status=ComponentStatus.OPERATIONAL,
            changed_at__gte=min((c.changed_at for c in changes), default=now),
        ).values_list("component_id", "changed_at")
    )
    components = {}
    for change in changes:
        row = components.setdefault(
            change.component_id,
            {"name": change.component.name, "first_at": change.changed_at, "worst_status": change.old_status},
        )
        if COMPONENT_STATUS_RANK[change.new_status] > COMPONENT_STATUS_RANK[row["worst_status"]]:
            row["worst_status"] = change.new_status
    rows = []
    for component_id, row in components.items():
        ends = sorted(at for cid, at in later if cid == component_id and at > row["first_at"])
        stop = ends[0] if ends else (public.resolved_at or now)
        visible = row["worst_status"] != ComponentStatus.OPERATIONAL
        rows.append(
            {
                "name": row["name"],
                "worst_status": row["worst_status"],
                "worst_status_label": ComponentStatus(row["worst_status"]).label,
                "customer_visible_seconds": metrics.span(row["first_at"], stop) if visible else 0.0,
            }
        )
    rows.sort(key=lambda r: (-COMPONENT_STATUS_RANK[r["worst_status"]], r["name"]))
    summary = {
        "name": public.name,
        "status": public.status,
        "impact": public.impact,
        "started_at": _iso(public.started_at),
        "resolved_at": _iso(public.resolved_at),
        "customer_visible_seconds": metrics.span(public.started_at, public.resolved_at or now),
        "updates": [
            {
                "at": _iso(u.display_at),
                "status": u.status,
                "status_label": IncidentStatus(u.status).label,
                "body": u.body,
            }
            for u in updates
        ],
    }
    return summary, rows


def review_record(incident: Incident, review: Review | None = None) -> dict:
    """Everything the review pre-fills from the incident's record (about a dozen queries)."""
    now = timezone.now()
    end = incident.resolved_at if incident.resolved_at and not incident.is_open else now
    severity_entries = list(
        incident.timeline.filter(kind=Kind.SEVERITY).select_related("author").order_by("occurred_at", "pk")
    )
    reopens = incident.timeline.filter(kind=Kind.STATUS, data__reopened=True).count()
    clocks = metrics.incident_clocks(incident)
    public, components = _public(incident, now)
    timeline, more = generated_timeline(incident, review)
    changes = [
        {
            "at": _iso(c.occurred_at),
            "what": c.what,
            "where": c.where,
            "old_value": MASKED if c.is_sensitive else c.old_value,
            "new_value": MASKED if c.is_sensitive else c.new_value,
            "sensitive": c.is_sensitive,
            "is_restore": c.is_restore,
            "state": c.state,
            "state_label": c.get_state_display(),
            "how_to_restore": c.how_to_restore,
            "by": _name(c.recorded_by),
        }
        for c in incident.changes.select_related("recorded_by").order_by("occurred_at", "pk")
    ]
    decisions = [
        {
            "at": _iso(d.decided_at),
            "kind": d.kind,
            "kind_label": d.get_kind_display(),
            "summary": d.summary,
            "reason": d.reason,
            "rollback_to": d.rollback_to,
            "state": d.state,
            "state_label": d.get_state_display(),
            "by": _name(d.decided_by),
        }
        for d in incident.decisions.select_related("decided_by").order_by("decided_at", "pk")
    ]
    participants = sorted(
        _name(u)
        for u in incident.participants.filter(is_active=True).only("first_name", "last_name", "username")
    )
    return {
        "generated_at": _iso(now),
        "incident": {
            "id": incident.pk,
            "reference": incident.reference,
            "title": incident.title,
            "summary": incident.summary,
            "status": incident.status,
            "is_security": incident.is_security,
            "url": settings.SITE_URL + incident.get_absolute_url(),
        },
        "severity": _severity(incident, severity_entries),
        "milestones": {
            "detected": _iso(incident.detected_at),
            "declared": _iso(incident.declared_at),
            "acknowledged": _iso(incident.acknowledged_at),
            "mitigated": _iso(incident.mitigated_at),
            "resolved": _iso(incident.resolved_at),
            "reopened": _iso(incident.reopened_at),
        },
        "reopen_count": reopens,
        "durations": clocks,
        "roles": _roles(incident, end),
        "participants": participants,
        "services": list(incident.services.order_by("name").values_list("name", flat=True)),
        "components": components,
        "public": public,
        "pages": _pages(incident),
        "changes": changes,
        "decisions": decisions,
        "timeline": timeline,
        "timeline_more": more,
    }
