"""The JSON matches Atlassian Statuspage's public API v2: names, types, enumerations, envelope, order."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from statuspage import public_cache, services
from statuspage.models import PageSettings

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$")
PUBLIC_ID = re.compile(r"^[a-z0-9]{12}$")

PAGE_KEYS = ["id", "name", "url", "time_zone", "updated_at"]
COMPONENT_KEYS = [
    "id", "name", "status", "created_at", "updated_at", "position", "description", "showcase",
    "start_date", "group_id", "page_id", "group", "only_show_if_degraded",
]  # fmt: skip
INCIDENT_KEYS = [
    "id", "name", "status", "created_at", "updated_at", "monitoring_at", "resolved_at", "impact",
    "shortlink", "started_at", "page_id", "incident_updates", "components",
]  # fmt: skip
UPDATE_KEYS = [
    "id", "status", "body", "incident_id", "created_at", "updated_at", "display_at",
    "affected_components", "deliver_notifications", "custom_tweet", "tweet_id",
]  # fmt: skip
COMPONENT_STATUSES = {
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
}
INCIDENT_STATUSES = {"investigating", "identified", "monitoring", "resolved", "postmortem"}
MAINTENANCE_STATUSES = {"scheduled", "in_progress", "verifying", "completed"}
IMPACTS = {"none", "minor", "major", "critical"}
INDICATORS = {"none", "minor", "major", "critical", "maintenance"}


def get(client, endpoint):
    response = client.get(f"/status/api/v2/{endpoint}.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    return response.json()


def check_page(data, page):
    assert list(data["page"]) == PAGE_KEYS
    assert data["page"]["id"] == page.public_id
    assert PUBLIC_ID.match(data["page"]["id"])
    assert data["page"]["name"] == "Acme"
    assert data["page"]["url"] == "https://status.acme.test"
    assert data["page"]["time_zone"] == "Etc/UTC"
    assert TIMESTAMP.match(data["page"]["updated_at"]) and data["page"]["updated_at"].endswith("Z")


def check_component(component, page):
    expected = COMPONENT_KEYS + (["components"] if component["group"] else [])
    assert list(component) == expected
    assert PUBLIC_ID.match(component["id"])
    assert component["status"] in COMPONENT_STATUSES
    assert TIMESTAMP.match(component["created_at"]) and TIMESTAMP.match(component["updated_at"])
    assert isinstance(component["position"], int)
    assert component["description"] is None or isinstance(component["description"], str)
    assert isinstance(component["showcase"], bool) and isinstance(component["group"], bool)
    assert isinstance(component["only_show_if_degraded"], bool)
    assert component["page_id"] == page.public_id


def check_incident(incident, page, statuses=INCIDENT_STATUSES, impacts=IMPACTS):
    extra = ["scheduled_for", "scheduled_until"] if statuses is MAINTENANCE_STATUSES else []
    assert list(incident) == INCIDENT_KEYS + extra
    assert PUBLIC_ID.match(incident["id"])
    assert incident["status"] in statuses
    assert incident["impact"] in impacts
    assert incident["shortlink"] == f"https://status.acme.test/incidents/{incident['id']}"
    for key in ("created_at", "updated_at", "started_at", *extra):
        assert TIMESTAMP.match(incident[key]), key
    for key in ("monitoring_at", "resolved_at"):
        assert incident[key] is None or TIMESTAMP.match(incident[key])
    stamps = [u["display_at"] for u in incident["incident_updates"]]
    assert stamps == sorted(stamps, reverse=True), "updates newest first"
    for update in incident["incident_updates"]:
        assert list(update) == UPDATE_KEYS
        assert update["incident_id"] == incident["id"]
        assert update["status"] in statuses
        assert update["custom_tweet"] is None and update["tweet_id"] is None
        assert isinstance(update["deliver_notifications"], bool)
        if update["affected_components"] is not None:
            for affected in update["affected_components"]:
                assert list(affected) == ["code", "name", "old_status", "new_status"]
                assert affected["old_status"] in COMPONENT_STATUSES
                assert affected["new_status"] in COMPONENT_STATUSES
    for component in incident["components"]:
        check_component(component, page)


@pytest.fixture
def busy_page(components, liaison, incident, publish):
    """One incident with three updates, a resolved one, and maintenance in every state."""
    publish(incident=incident, by=liaison, component_statuses={components["api"].public_id: "partial_outage"})
    publish(incident=incident, by=liaison, status="identified", body="Found it.")
    publish(incident=incident, by=liaison, status="monitoring", body="Fix deployed.")
    from roles.models import RoleAssignment
    from tests.factories import IncidentFactory

    old = IncidentFactory(title="Old one")
    RoleAssignment.objects.create(incident=old, role="customer_liaison", user=liaison)
    publish(
        incident=old,
        by=liaison,
        title="Old trouble",
        component_statuses={components["website"].public_id: "degraded_performance"},
    )
    publish(
        incident=old,
        by=liaison,
        title="Old trouble",
        status="resolved",
        body="Done.",
        component_statuses={components["website"].public_id: "operational"},
    )
    now = timezone.now()
    upcoming = services.maintenance_schedule(
        name="Database upgrade",
        scheduled_for=now + timedelta(days=2),
        scheduled_until=now + timedelta(days=2, hours=2),
        components=[components["dashboard"]],
        by=None,
    )
    active = services.maintenance_schedule(
        name="Network work",
        scheduled_for=now - timedelta(minutes=5),
        scheduled_until=now + timedelta(hours=1),
        components=[components["website"]],
        by=None,
    )
    services.maintenance_tick(now=now)
    public_cache.refresh()
    return {"incident": incident, "old": old, "upcoming": upcoming, "active": active}


def test_summary_has_the_envelope_and_every_part(client, page, busy_page):
    data = get(client, "summary")
    assert list(data) == ["page", "components", "incidents", "scheduled_maintenances", "status"]
    check_page(data, page)
    assert [i["name"] for i in data["incidents"]] == ["Checkout errors"]  # unresolved only
    assert {m["name"] for m in data["scheduled_maintenances"]} == {"Database upgrade", "Network work"}
    for incident in data["incidents"]:
        check_incident(incident, page)
    for maintenance in data["scheduled_maintenances"]:
        check_incident(maintenance, page, MAINTENANCE_STATUSES, {"maintenance"})
    assert data["status"]["indicator"] in INDICATORS


def test_components_are_in_page_order_with_groups_pointing_both_ways(client, page, components):
    data = get(client, "components")
    assert list(data) == ["page", "components"]
    check_page(data, page)
    listed = data["components"]
    for component in listed:
        check_component(component, page)
    assert [c["name"] for c in listed] == ["Website", "Platform", "API", "Dashboard"]
    assert [c["position"] for c in listed] == [1, 2, 3, 4]
    platform = listed[1]
    assert platform["group"] is True
    assert platform["components"] == [components["api"].public_id, components["dashboard"].public_id]
    assert listed[2]["group_id"] == platform["id"] and listed[3]["group_id"] == platform["id"]
    assert listed[0]["group_id"] is None and "components" not in listed[0]
    assert listed[0]["description"] == "The public site" and listed[2]["description"] is None


def test_a_group_takes_the_worst_status_of_its_components(client, components):
    services.component_change_status(
        component=components["dashboard"], status="degraded_performance", by=None
    )
    public_cache.refresh()
    listed = {c["name"]: c["status"] for c in get(client, "components")["components"]}
    assert listed["Platform"] == "degraded_performance"


def test_incidents_lists_the_recent_ones_newest_first(client, page, busy_page):
    data = get(client, "incidents")
    assert list(data) == ["page", "incidents"]
    assert [i["name"] for i in data["incidents"]] == ["Old trouble", "Checkout errors"]
    for incident in data["incidents"]:
        check_incident(incident, page)
    old = data["incidents"][0]
    assert old["status"] == "resolved" and TIMESTAMP.match(old["resolved_at"])
    current = data["incidents"][1]
    assert [u["status"] for u in current["incident_updates"]] == ["monitoring", "identified", "investigating"]
    assert current["monitoring_at"] is not None and current["resolved_at"] is None
    assert current["impact"] == "major"  # a partial outage
    assert [c["name"] for c in current["components"]] == ["API"]
    first = current["incident_updates"][-1]
    assert first["affected_components"] == [
        {"code": busy_page["incident"].public_incident.components.get().public_id, "name": "API",
         "old_status": "operational", "new_status": "partial_outage"}
    ]  # fmt: skip
    assert current["incident_updates"][0]["affected_components"] is None


def test_unresolved_holds_investigating_identified_and_monitoring(client, page, busy_page):
    data = get(client, "incidents/unresolved")
    assert [i["status"] for i in data["incidents"]] == ["monitoring"]


def test_scheduled_maintenances_by_state(client, page, busy_page):
    everything = get(client, "scheduled-maintenances")
    assert list(everything) == ["page", "scheduled_maintenances"]
    for maintenance in everything["scheduled_maintenances"]:
        check_incident(maintenance, page, MAINTENANCE_STATUSES, {"maintenance"})
    assert [m["name"] for m in everything["scheduled_maintenances"]] == ["Database upgrade", "Network work"]
    upcoming = get(client, "scheduled-maintenances/upcoming")["scheduled_maintenances"]
    assert [(m["name"], m["status"]) for m in upcoming] == [("Database upgrade", "scheduled")]
    active = get(client, "scheduled-maintenances/active")["scheduled_maintenances"]
    assert [(m["name"], m["status"]) for m in active] == [("Network work", "in_progress")]
    assert active[0]["components"][0]["status"] == "under_maintenance"


def test_timestamps_carry_the_page_offset(client, components):
    PageSettings.objects.filter(pk=1).update(time_zone="America/Los_Angeles")
    public_cache.refresh()
    data = get(client, "components")
    assert data["page"]["time_zone"] == "America/Los_Angeles"
    assert re.search(r"\.\d{3}-0[78]:00$", data["page"]["updated_at"])
    assert re.search(r"\.\d{3}-0[78]:00$", data["components"][0]["created_at"])


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ({}, ("none", "All Systems Operational")),
        ({"api": "degraded_performance"}, ("minor", "Partially Degraded Service")),
        ({"api": "partial_outage"}, ("minor", "Minor Service Outage")),
        ({"api": "major_outage"}, ("major", "Partial System Outage")),
        ({"api": "major_outage", "dashboard": "major_outage", "website": "major_outage"},
         ("critical", "Major Service Outage")),
        ({"website": "under_maintenance"}, ("maintenance", "Service Under Maintenance")),
        ({"website": "under_maintenance", "api": "partial_outage"}, ("minor", "Minor Service Outage")),
    ],
)  # fmt: skip
def test_the_indicator_follows_the_components(client, components, statuses, expected):
    for name, status in statuses.items():
        services.component_change_status(component=components[name], status=status, by=None)
    public_cache.refresh()
    assert get(client, "status") == {
        "page": get(client, "status")["page"],
        "status": {"indicator": expected[0], "description": expected[1]},
    }
    assert list(get(client, "status")) == ["page", "status"]


@pytest.mark.parametrize(
    ("impact", "expected"),
    [("none", "none"), ("minor", "minor"), ("major", "major"), ("critical", "critical")],
)
def test_the_indicator_follows_unresolved_incidents(
    client, components, liaison, incident, publish, impact, expected
):
    publish(incident=incident, by=liaison, impact=impact)
    assert get(client, "status")["status"]["indicator"] == expected
    publish(incident=incident, by=liaison, status="resolved", body="Over.", impact=impact)
    assert get(client, "status")["status"]["indicator"] == "none"


def test_an_active_maintenance_shows_as_maintenance(client, components):
    now = timezone.now()
    services.maintenance_schedule(
        name="Work",
        scheduled_for=now - timedelta(minutes=1),
        scheduled_until=now + timedelta(hours=1),
        components=[components["website"]],
        by=None,
    )
    services.maintenance_tick(now=now)
    public_cache.refresh()
    assert get(client, "status")["status"] == {
        "indicator": "maintenance",
        "description": "Service Under Maintenance",
    }
