"""The admin: components (status changes kept), page settings, maintenance scheduled through the service."""

from datetime import timedelta

import pytest
from django.utils import timezone

from statuspage.models import Component, ComponentStatusChange, Maintenance, PageSettings


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize(
    "model", ["pagesettings", "component", "publicincident", "updatetemplate", "maintenance", "subscriber"]
)
def test_every_admin_page_opens(admin_client, components, model):
    assert admin_client.get(f"/admin/statuspage/{model}/").status_code == 200
    if model not in ("publicincident", "subscriber", "pagesettings"):
        assert admin_client.get(f"/admin/statuspage/{model}/add/").status_code == 200


def test_a_status_set_in_the_admin_is_kept_in_the_history_and_shown(
    admin_client, components, admin_user, django_capture_on_commit_callbacks
):
    website = components["website"]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/statuspage/component/{website.pk}/change/",
            {
                "name": "Website",
                "description": "The public site",
                "status": "major_outage",
                "position": 1,
                "showcase": "on",
                "status_changes-TOTAL_FORMS": "0",
                "status_changes-INITIAL_FORMS": "0",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    change = ComponentStatusChange.objects.get(component=website)
    assert (change.old_status, change.new_status, change.changed_by) == (
        "operational",
        "major_outage",
        admin_user,
    )
    assert admin_client.get("/status/api/v2/status.json").json()["status"]["indicator"] == "major"


def test_page_settings_change_the_public_page(admin_client, page, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/statuspage/pagesettings/1/change/",
            {
                "name": "Globex",
                "url": "",
                "time_zone": "Europe/Berlin",
                "theme": "teal",
                "about": "",
                "support_url": "",
            },
        )
    assert response.status_code == 302
    data = admin_client.get("/status/api/v2/status.json").json()
    assert data["page"]["name"] == "Globex" and data["page"]["time_zone"] == "Europe/Berlin"
    assert data["page"]["url"] == "http://127.0.0.1:8000/status"
    assert "theme-teal" in admin_client.get("/status/").content.decode()


def test_a_bad_time_zone_is_refused(admin_client, page):
    response = admin_client.post(
        "/admin/statuspage/pagesettings/1/change/",
        {"name": "Globex", "time_zone": "Mars/Olympus", "theme": "blue"},
    )
    assert response.status_code == 200 and "is not an IANA time zone name" in response.content.decode()
    assert PageSettings.objects.get().time_zone == "Etc/UTC"


def test_scheduling_a_maintenance_in_the_admin_uses_the_service(
    admin_client, components, django_capture_on_commit_callbacks
):
    start = timezone.now() + timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/statuspage/maintenance/add/",
            {
                "name": "Network upgrade",
                "scheduled_for_0": start.strftime("%Y-%m-%d"),
                "scheduled_for_1": "10:00:00",
                "scheduled_until_0": start.strftime("%Y-%m-%d"),
                "scheduled_until_1": "12:00:00",
                "components": [components["api"].pk],
                "auto_start": "on",
                "auto_complete": "on",
                "message": "The API may be slow.",
                "updates-TOTAL_FORMS": "0",
                "updates-INITIAL_FORMS": "0",
            },
        )
    assert response.status_code == 302, response.context["adminform"].form.errors
    maintenance = Maintenance.objects.get()
    assert [c.name for c in maintenance.components.all()] == ["API"]
    assert maintenance.updates.get().body == "The API may be slow."
    upcoming = admin_client.get("/status/api/v2/scheduled-maintenances/upcoming.json").json()
    assert [m["name"] for m in upcoming["scheduled_maintenances"]] == ["Network upgrade"]
    assert Component.objects.get(name="API").status == "operational"
