"""The Atlassian Statuspage public API v2 shapes, field for field (see shared/FORMATS.md).

Builders take rows that are already loaded and return plain dicts, in the key
order Statuspage itself uses, so that tools written against a real Statuspage
page read Coolhead unchanged.
"""

from datetime import date, datetime
from typing import Any

from statuspage.models import Maintenance, PageSettings, PublicIncident
from statuspage.selectors import ComponentNode, Indicator

UTC_ZONE_NAMES = {"UTC", "Etc/UTC", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu", "Etc/UCT", "UCT"}


def timestamp(value: datetime | None, page: PageSettings) -> str | None:
    """ISO 8601 with milliseconds in the page's zone: 2022-02-15T13:37:37.407-08:00, or ...Z in UTC."""
    if value is None:
        return None
    local = value.astimezone(page.zone)
    text = local.strftime("%Y-%m-%dT%H:%M:%S") + f".{local.microsecond // 1000:03d}"
    if page.time_zone in UTC_ZONE_NAMES:
        return text + "Z"
    offset = local.strftime("%z")  # +0100
    return f"{text}{offset[:3]}:{offset[3:]}"


def day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def page_object(page: PageSettings, updated_at: datetime) -> dict[str, Any]:
    return {
        "id": page.public_id,
        "name": page.name,
        "url": page.public_url,
        "time_zone": page.time_zone,
        "updated_at": timestamp(updated_at, page),
    }


def status_object(indicator: Indicator) -> dict[str, str]:
    return {"indicator": indicator.indicator, "description": indicator.description}


def component_object(node: ComponentNode, position: int, page: PageSettings, group_ids: dict) -> dict:
    component = node.component
    data = {
        "id": component.public_id,
        "name": component.name,
        "status": node.status,
        "created_at": timestamp(component.created_at, page),
        "updated_at": timestamp(component.updated_at, page),
        "position": position,
        "description": component.description or None,
        "showcase": component.showcase,
        "start_date": day(component.start_date),
        "group_id": group_ids.get(component.group_id) if not component.is_group else None,
        "page_id": page.public_id,
        "group": component.is_group,
        "only_show_if_degraded": component.only_show_if_degraded,
    }
    if component.is_group:
        data["components"] = [child.component.public_id for child in node.children]
    return data


def components_list(tree: list[ComponentNode], page: PageSettings) -> list[dict]:
    """Every component and group in page order; `position` is the place on the page (1, 2, ...)."""
    group_ids = {node.component.pk: node.component.public_id for node in tree if node.is_group}
    result = []
    for node in tree:
        result.append(component_object(node, len(result) + 1, page, group_ids))
        for child in node.children:
            result.append(component_object(child, len(result) + 1, page, group_ids))
    return result


def _components_of(rows, nodes_by_pk: dict[int, tuple[ComponentNode, int]], page, group_ids) -> list[dict]:
    result = []
    for component in rows:
        node, position = nodes_by_pk.get(component.pk, (None, 0))
        if node is None:
            node = ComponentNode(component, component.status)
        result.append(component_object(node, position, page, group_ids))
    return result


def node_index(tree: list[ComponentNode]) -> tuple[dict[int, tuple[ComponentNode, int]], dict[int, str]]:
    index = {}
    position = 0
    for node in tree:
        position += 1
        index[node.component.pk] = (node, position)
        for child in node.children:
            position += 1
            index[child.component.pk] = (child, position)
    group_ids = {node.component.pk: node.component.public_id for node in tree if node.is_group}
    return index, group_ids


def update_object(update, owner_id: str, page: PageSettings) -> dict[str, Any]:
    return {
        "id": update.public_id,
        "status": update.status,
        "body": update.body,
        "incident_id": owner_id,
        "created_at": timestamp(update.created_at, page),
        "updated_at": timestamp(update.created_at, page),
        "display_at": timestamp(update.display_at, page),
        # Rebuilt key by key: PostgreSQL's jsonb does not keep the order the keys were written in.
        "affected_components": [
            {key: affected.get(key) for key in ("code", "name", "old_status", "new_status")}
            for affected in update.affected_components
        ]
        or None,
        "deliver_notifications": update.deliver_notifications,
        "custom_tweet": None,
        "tweet_id": None,
    }


def incident_object(incident: PublicIncident, page: PageSettings, tree: list[ComponentNode]) -> dict:
    index, group_ids = node_index(tree)
    return {
        "id": incident.public_id,
        "name": incident.name,
        "status": incident.status,
        "created_at": timestamp(incident.created_at, page),
        "updated_at": timestamp(incident.updated_at, page),
        "monitoring_at": timestamp(incident.monitoring_at, page),
        "resolved_at": timestamp(incident.resolved_at, page),
        "impact": incident.impact,
        "shortlink": f"{page.public_url}/incidents/{incident.public_id}",
        "started_at": timestamp(incident.started_at, page),
        "page_id": page.public_id,
        "incident_updates": [update_object(u, incident.public_id, page) for u in incident.updates.all()],
        "components": _components_of(incident.components.all(), index, page, group_ids),
    }


def maintenance_object(maintenance: Maintenance, page: PageSettings, tree: list[ComponentNode]) -> dict:
    index, group_ids = node_index(tree)
    resolved = maintenance.completed_at
    return {
        "id": maintenance.public_id,
        "name": maintenance.name,
        "status": maintenance.status,
        "created_at": timestamp(maintenance.created_at, page),
        "updated_at": timestamp(maintenance.updated_at, page),
        "monitoring_at": None,
        "resolved_at": timestamp(resolved, page),
        "impact": "maintenance",
        "shortlink": f"{page.public_url}/incidents/{maintenance.public_id}",
        "started_at": timestamp(maintenance.started_at or maintenance.scheduled_for, page),
        "page_id": page.public_id,
        "incident_updates": [
            update_object(u, maintenance.public_id, page) for u in maintenance.updates.all()
        ],
        "components": _components_of(maintenance.components.all(), index, page, group_ids),
        "scheduled_for": timestamp(maintenance.scheduled_for, page),
        "scheduled_until": timestamp(maintenance.scheduled_until, page),
    }
