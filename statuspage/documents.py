"""Everything the public sees, rendered ahead of time into documents.

A document is the finished body of one public URL (HTML, JSON, a feed, a
calendar file) with its content type and ETag. A refresh renders them all from
the database in a bounded number of queries; the public views only look them up
(see statuspage.public_cache), so a busy page costs the database nothing.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlparse
from xml.etree import ElementTree as ET

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape

from statuspage import api_v2, selectors
from statuspage.models import (
    ComponentStatus,
    IncidentStatus,
    Maintenance,
    MaintenanceStatus,
    PageSettings,
    PublicIncident,
)
from statuspage.selectors import ComponentNode, Indicator

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
RSS_TYPE = "application/rss+xml; charset=utf-8"
ICS_TYPE = "text/calendar; charset=utf-8"

RECENT_DAYS_ON_PAGE = 7

# Names of the documents every refresh renders; incident pages are "incident:<id>",
# calendar files "ics:<id>".
API_DOCUMENTS = {
    "summary": "api/summary",
    "status": "api/status",
    "components": "api/components",
    "incidents": "api/incidents",
    "incidents/unresolved": "api/incidents/unresolved",
    "scheduled-maintenances": "api/scheduled-maintenances",
    "scheduled-maintenances/upcoming": "api/scheduled-maintenances/upcoming",
    "scheduled-maintenances/active": "api/scheduled-maintenances/active",
}


@dataclass(frozen=True)
class Document:
    body: str
    content_type: str
    etag: str

    @classmethod
    def of(cls, body: str, content_type: str) -> "Document":
        digest = hashlib.sha256(body.encode()).hexdigest()[:32]
        return cls(body=body, content_type=content_type, etag=f'"{digest}"')

    def as_dict(self) -> dict[str, str]:
        return {"body": self.body, "content_type": self.content_type, "etag": self.etag}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> "Document":
        return cls(body=data["body"], content_type=data["content_type"], etag=data["etag"])


@dataclass
class PublicState:
    """Everything public, loaded once."""

    page: PageSettings
    tree: list[ComponentNode]
    indicator: Indicator
    unresolved: list[PublicIncident]
    recent: list[PublicIncident]
    upcoming: list[Maintenance]
    active: list[Maintenance]
    recent_maintenances: list[Maintenance]
    updated_at: datetime
    now: datetime
    extra_incidents: list[PublicIncident] = field(default_factory=list)
    extra_maintenances: list[Maintenance] = field(default_factory=list)


def load_state(*, with_uptime: bool = True, now: datetime | None = None) -> PublicState:
    now = now or timezone.now()
    page = selectors.page_settings()
    components = list(selectors.Component.objects.order_by("position", "name", "id"))
    tree = selectors.component_tree(components)
    if with_uptime:
        leaves = [node for node in selectors.flatten(tree) if not node.is_group]
        uptime = selectors.uptime_for([n.component for n in leaves], zone=page.zone, now=now)
        for node in leaves:
            node.uptime = uptime.get(node.component.pk)
    unresolved = selectors.public_incidents_unresolved()
    recent = selectors.public_incidents_recent()
    upcoming = selectors.maintenances_upcoming()
    active = selectors.maintenances_active()
    recent_maintenances = selectors.maintenances_recent()
    indicator = selectors.overall_indicator(
        component_statuses=[c.status for c in components if not c.is_group],
        unresolved_impacts=[i.impact for i in unresolved],
        maintenance_active=bool(active),
    )
    stamps = [page.updated_at]
    stamps += [c.updated_at for c in components]
    stamps += [i.updated_at for i in recent + unresolved]
    stamps += [m.updated_at for m in recent_maintenances + upcoming + active]
    return PublicState(
        page=page,
        tree=tree,
        indicator=indicator,
        unresolved=unresolved,
        recent=recent,
        upcoming=upcoming,
        active=active,
        recent_maintenances=recent_maintenances,
        updated_at=max(stamps),
        now=now,
    )


# --- JSON ---------------------------------------------------------------------------------


def _json(data: dict[str, Any]) -> Document:
    return Document.of(json.dumps(data, separators=(",", ":"), ensure_ascii=False), JSON_TYPE)


def api_documents(state: PublicState) -> dict[str, Document]:
    page, tree = state.page, state.tree
    envelope = api_v2.page_object(page, state.updated_at)
    components = api_v2.components_list(tree, page)
    unresolved = [api_v2.incident_object(i, page, tree) for i in state.unresolved]
    summary_maintenances = sorted(state.active + state.upcoming, key=lambda m: (m.scheduled_for, m.pk))
    status = api_v2.status_object(state.indicator)

    def maintenances(rows: list[Maintenance]) -> list[dict]:
        return [api_v2.maintenance_object(m, page, tree) for m in rows]

    payloads = {
        "summary": {
            "page": envelope,
            "components": components,
            "incidents": unresolved,
            "scheduled_maintenances": maintenances(summary_maintenances),
            "status": status,
        },
        "status": {"page": envelope, "status": status},
        "components": {"page": envelope, "components": components},
        "incidents": {
            "page": envelope,
            "incidents": [api_v2.incident_object(i, page, tree) for i in state.recent],
        },
        "incidents/unresolved": {"page": envelope, "incidents": unresolved},
        "scheduled-maintenances": {
            "page": envelope,
            "scheduled_maintenances": maintenances(state.recent_maintenances),
        },
        "scheduled-maintenances/upcoming": {
            "page": envelope,
            "scheduled_maintenances": maintenances(state.upcoming),
        },
        "scheduled-maintenances/active": {
            "page": envelope,
            "scheduled_maintenances": maintenances(state.active),
        },
    }
    return {API_DOCUMENTS[name]: _json(data) for name, data in payloads.items()}


# --- HTML ----------------------------------------------------------------------------------


def _html(template: str, state: PublicState, **context) -> Document:
    base = {
        "page": state.page,
        "indicator": state.indicator,
        "updated_at": state.updated_at,
        "zone": state.page.zone,
        "tz_name": state.page.time_zone,
    }
    base.update(context)
    return Document.of(render_to_string(template, base), HTML_TYPE)


def _history_items(state: PublicState) -> list[dict]:
    items = [{"kind": "incident", "obj": i, "when": i.created_at} for i in state.recent]
    items += [
        {"kind": "maintenance", "obj": m, "when": m.scheduled_for}
        for m in state.recent_maintenances
        if m.status != MaintenanceStatus.SCHEDULED
    ]
    items.sort(key=lambda item: item["when"], reverse=True)
    return items


def page_document(state: PublicState) -> Document:
    cutoff = state.now - timedelta(days=RECENT_DAYS_ON_PAGE)
    recent_resolved = [i for i in state.recent if i.is_resolved and i.created_at >= cutoff]
    return _html(
        "statuspage/public/page.html",
        state,
        tree=[node for node in state.tree if node.visible],
        unresolved=state.unresolved,
        active=state.active,
        upcoming=state.upcoming,
        recent_resolved=recent_resolved,
        uptime_days=selectors.UPTIME_DAYS,
        statuses=ComponentStatus,
    )


def history_document(state: PublicState) -> Document:
    months: list[tuple[str, list[dict]]] = []
    for item in _history_items(state):
        label = item["when"].astimezone(state.page.zone).strftime("%B %Y")
        if not months or months[-1][0] != label:
            months.append((label, []))
        months[-1][1].append(item)
    return _html("statuspage/public/history.html", state, months=months)


def incident_document(state: PublicState, incident: PublicIncident) -> Document:
    return _html("statuspage/public/incident.html", state, item=incident, kind="incident")


def maintenance_document(state: PublicState, maintenance: Maintenance) -> Document:
    return _html("statuspage/public/incident.html", state, item=maintenance, kind="maintenance")


# --- Feeds -----------------------------------------------------------------------------------

ATOM_NS = "http://www.w3.org/2005/Atom"


def _updates_html(item, zone) -> str:
    parts = []
    for update in item.updates.all():
        label = _status_label(update.status)
        when = update.display_at.astimezone(zone).strftime("%b %-d, %H:%M %Z")
        parts.append(
            f"<p><strong>{escape(label)}</strong> - {escape(update.body).replace(chr(10), '<br>')}"
            f"<br><small>{escape(when)}</small></p>"
        )
    return "".join(parts)


def _status_label(status: str) -> str:
    for enum in (IncidentStatus, MaintenanceStatus):
        if status in enum.values:
            return enum(status).label
    return status


def _feed_items(state: PublicState) -> list[dict]:
    items = []
    for incident in state.recent:
        items.append({"obj": incident, "updated": incident.updated_at, "created": incident.created_at})
    for maintenance in state.recent_maintenances:
        items.append(
            {"obj": maintenance, "updated": maintenance.updated_at, "created": maintenance.created_at}
        )
    items.sort(key=lambda item: item["updated"], reverse=True)
    return items[: selectors.RECENT_LIMIT]


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def atom_document(state: PublicState) -> Document:
    page = state.page
    host = urlparse(page.public_url).hostname or "localhost"
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed", {"xml:lang": "en-US"})
    ET.SubElement(feed, f"{{{ATOM_NS}}}id").text = f"tag:{host},2005:/history"
    ET.SubElement(feed, f"{{{ATOM_NS}}}link", rel="alternate", type="text/html", href=page.public_url)
    ET.SubElement(
        feed,
        f"{{{ATOM_NS}}}link",
        rel="self",
        type="application/atom+xml",
        href=f"{page.public_url}/history.atom",
    )
    ET.SubElement(feed, f"{{{ATOM_NS}}}title").text = f"{page.name} Status - Incident History"
    ET.SubElement(feed, f"{{{ATOM_NS}}}updated").text = _rfc3339(state.updated_at)
    author = ET.SubElement(feed, f"{{{ATOM_NS}}}author")
    ET.SubElement(author, f"{{{ATOM_NS}}}name").text = page.name
    for item in _feed_items(state):
        obj = item["obj"]
        url = f"{page.public_url}/incidents/{obj.public_id}"
        entry = ET.SubElement(feed, f"{{{ATOM_NS}}}entry")
        created = item["created"].astimezone(UTC).strftime("%Y-%m-%d")
        ET.SubElement(entry, f"{{{ATOM_NS}}}id").text = f"tag:{host},{created}:Incident/{obj.public_id}"
        ET.SubElement(entry, f"{{{ATOM_NS}}}published").text = _rfc3339(item["created"])
        ET.SubElement(entry, f"{{{ATOM_NS}}}updated").text = _rfc3339(item["updated"])
        ET.SubElement(entry, f"{{{ATOM_NS}}}link", rel="alternate", type="text/html", href=url)
        ET.SubElement(entry, f"{{{ATOM_NS}}}title").text = obj.name
        ET.SubElement(entry, f"{{{ATOM_NS}}}content", type="html").text = _updates_html(obj, page.zone)
    body = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(feed, encoding="unicode")
    return Document.of(body, ATOM_TYPE)


def rss_document(state: PublicState) -> Document:
    page = state.page
    rss = ET.Element("rss", version="2.0")
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = f"{page.name} Status - Incident History"
    ET.SubElement(channel, "link").text = page.public_url
    ET.SubElement(channel, "description").text = f"Statuspage - {page.name}"
    ET.SubElement(channel, "pubDate").text = format_datetime(state.updated_at.astimezone(UTC), usegmt=True)
    for item in _feed_items(state):
        obj = item["obj"]
        url = f"{page.public_url}/incidents/{obj.public_id}"
        element = ET.SubElement(channel, "item")
        ET.SubElement(element, "title").text = obj.name
        ET.SubElement(element, "description").text = _updates_html(obj, page.zone)
        ET.SubElement(element, "pubDate").text = format_datetime(item["created"].astimezone(UTC), usegmt=True)
        ET.SubElement(element, "link").text = url
        ET.SubElement(element, "guid").text = url
    body = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(rss, encoding="unicode")
    return Document.of(body, RSS_TYPE)


# --- iCalendar ---------------------------------------------------------------------------------


def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _ics_fold(line: str) -> str:
    # RFC 5545: lines longer than 75 octets continue on the next line after a space.
    raw = line.encode()
    if len(raw) <= 75:
        return line
    parts, current = [], b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += encoded
    parts.append(current.decode())
    return "\r\n ".join(parts)


def _ics_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def ics_document(state: PublicState, maintenance: Maintenance) -> Document:
    page = state.page
    host = urlparse(page.public_url).hostname or "localhost"
    url = f"{page.public_url}/incidents/{maintenance.public_id}"
    updates = list(maintenance.updates.all())
    description = updates[-1].body if updates else ""
    components = ", ".join(c.name for c in maintenance.components.all())
    if components:
        description = f"{description}\n\nAffected: {components}".strip()
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:-//Coolhead//{_ics_text(page.name)} status//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{maintenance.public_id}@{host}",
        f"DTSTAMP:{_ics_time(maintenance.updated_at)}",
        f"LAST-MODIFIED:{_ics_time(maintenance.updated_at)}",
        f"DTSTART:{_ics_time(maintenance.scheduled_for)}",
        f"DTEND:{_ics_time(maintenance.scheduled_until)}",
        f"SUMMARY:{_ics_text(f'{page.name} maintenance: {maintenance.name}')}",
        f"DESCRIPTION:{_ics_text(description)}",
        f"URL:{url}",
        "STATUS:CONFIRMED",
        "TRANSP:OPAQUE",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    body = "\r\n".join(_ics_fold(line) for line in lines) + "\r\n"
    return Document.of(body, ICS_TYPE)


# --- All of them -------------------------------------------------------------------------------


def all_documents(state: PublicState) -> dict[str, Document]:
    documents = api_documents(state)
    documents["page"] = page_document(state)
    documents["history"] = history_document(state)
    documents["feed/atom"] = atom_document(state)
    documents["feed/rss"] = rss_document(state)
    seen: set[str] = set()
    for incident in state.unresolved + state.recent + state.extra_incidents:
        if incident.public_id not in seen:
            seen.add(incident.public_id)
            documents[f"incident:{incident.public_id}"] = incident_document(state, incident)
    for maintenance in state.upcoming + state.active + state.recent_maintenances + state.extra_maintenances:
        if maintenance.public_id not in seen:
            seen.add(maintenance.public_id)
            documents[f"incident:{maintenance.public_id}"] = maintenance_document(state, maintenance)
            documents[f"ics:{maintenance.public_id}"] = ics_document(state, maintenance)
    return documents


def single_document(name: str) -> Document | None:
    """One incident page or calendar file outside the recent set, straight from the database."""
    kind, _, public_id = name.partition(":")
    if kind not in ("incident", "ics"):
        return None
    state = load_state(with_uptime=False)
    incident = selectors.public_incident_by_id(public_id) if kind == "incident" else None
    if incident is not None:
        return incident_document(state, incident)
    maintenance = selectors.maintenance_by_id(public_id)
    if maintenance is None:
        return None
    if kind == "incident":
        return maintenance_document(state, maintenance)
    return ics_document(state, maintenance)
