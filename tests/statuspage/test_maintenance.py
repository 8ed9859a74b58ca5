"""Scheduled maintenance moves through its states on time, by the beat task; and its calendar file."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from statuspage import services, tasks
from statuspage.models import ComponentStatusChange, Maintenance, MaintenanceUpdate
from statuspage.services import StatuspageError

# Always ahead of the real clock: the fixtures (components, the page) are
# written at the real time, and a window that started before them would see
# the public page's refresh at START skipped as older than its data.
START = (datetime.now(UTC) + timedelta(days=30)).replace(hour=22, minute=0, second=0, microsecond=0)
END = START + timedelta(hours=2)


@pytest.fixture
def maintenance(components, django_capture_on_commit_callbacks):
    with time_machine.travel(START - timedelta(days=1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            return services.maintenance_schedule(
                name="Database upgrade",
                scheduled_for=START,
                scheduled_until=END,
                components=[components["api"], components["dashboard"]],
                body="We upgrade PostgreSQL; the API may be slow.",
                by=None,
            )


def tick_at(when, capture):
    with time_machine.travel(when, tick=False), capture(execute=True):
        tasks.statuspage_tick()


def test_it_starts_and_completes_on_time(client, components, maintenance, django_capture_on_commit_callbacks):
    components["dashboard"].status = "degraded_performance"  # already degraded before the window
    components["dashboard"].save()

    tick_at(START - timedelta(seconds=1), django_capture_on_commit_callbacks)
    maintenance.refresh_from_db()
    assert maintenance.status == "scheduled"
    upcoming = client.get("/status/api/v2/scheduled-maintenances/upcoming.json").json()
    assert [m["name"] for m in upcoming["scheduled_maintenances"]] == ["Database upgrade"]

    tick_at(START, django_capture_on_commit_callbacks)
    maintenance.refresh_from_db()
    assert maintenance.status == "in_progress" and maintenance.started_at == START
    for component in ("api", "dashboard"):
        components[component].refresh_from_db()
        assert components[component].status == "under_maintenance"
    active = client.get("/status/api/v2/scheduled-maintenances/active.json").json()
    assert [m["status"] for m in active["scheduled_maintenances"]] == ["in_progress"]
    assert client.get("/status/api/v2/status.json").json()["status"]["indicator"] == "maintenance"

    tick_at(START + timedelta(minutes=1), django_capture_on_commit_callbacks)  # nothing more to do
    assert MaintenanceUpdate.objects.filter(maintenance=maintenance).count() == 2

    tick_at(END, django_capture_on_commit_callbacks)
    maintenance.refresh_from_db()
    assert maintenance.status == "completed" and maintenance.completed_at == END
    components["api"].refresh_from_db()
    components["dashboard"].refresh_from_db()
    assert components["api"].status == "operational"
    assert components["dashboard"].status == "degraded_performance"  # restored to what it was
    statuses = list(maintenance.updates.order_by("display_at").values_list("status", flat=True))
    assert statuses == ["scheduled", "in_progress", "completed"]
    assert ComponentStatusChange.objects.filter(maintenance=maintenance).count() == 4
    assert (
        client.get("/status/api/v2/scheduled-maintenances/active.json").json()["scheduled_maintenances"] == []
    )
    everything = client.get("/status/api/v2/scheduled-maintenances.json").json()["scheduled_maintenances"]
    assert everything[0]["status"] == "completed"
    assert [u["status"] for u in everything[0]["incident_updates"]] == [
        "completed",
        "in_progress",
        "scheduled",
    ]


def test_a_late_beat_starts_and_completes_a_missed_window_in_one_go(
    components, maintenance, django_capture_on_commit_callbacks
):
    tick_at(END + timedelta(hours=3), django_capture_on_commit_callbacks)
    maintenance.refresh_from_db()
    assert maintenance.status == "completed"


def test_verifying_by_hand_then_completed_by_beat(
    components, maintenance, django_capture_on_commit_callbacks
):
    tick_at(START, django_capture_on_commit_callbacks)
    with time_machine.travel(START + timedelta(minutes=30), tick=False):
        services.maintenance_post_update(
            maintenance=maintenance, status="verifying", body="Checking.", by=None
        )
    tick_at(END, django_capture_on_commit_callbacks)
    maintenance.refresh_from_db()
    assert maintenance.status == "completed"


def test_a_maintenance_without_auto_start_waits(components, maintenance, django_capture_on_commit_callbacks):
    Maintenance.objects.filter(pk=maintenance.pk).update(auto_start=False)
    tick_at(START + timedelta(minutes=5), django_capture_on_commit_callbacks)
    maintenance.refresh_from_db()
    assert maintenance.status == "scheduled"


def test_impossible_moves_and_windows_are_refused(components, maintenance):
    services.maintenance_post_update(maintenance=maintenance, status="completed", by=None)
    with pytest.raises(StatuspageError, match="cannot go from completed to in progress"):
        services.maintenance_post_update(maintenance=maintenance, status="in_progress", by=None)
    with pytest.raises(StatuspageError, match="must end after it starts"):
        services.maintenance_schedule(name="Bad", scheduled_for=END, scheduled_until=START, by=None)
    with pytest.raises(StatuspageError, match="not the group"):
        services.maintenance_schedule(
            name="Bad", scheduled_for=START, scheduled_until=END, components=[components["platform"]], by=None
        )


def test_each_maintenance_has_a_calendar_file(client, components, maintenance):
    response = client.get(f"/status/maintenances/{maintenance.public_id}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "Set-Cookie" not in response.headers
    text = response.content.decode()
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert text.endswith("END:VCALENDAR\r\n")
    unfolded = text.replace("\r\n ", "")
    assert f"DTSTART:{START:%Y%m%dT%H%M%SZ}" in unfolded
    assert f"DTEND:{END:%Y%m%dT%H%M%SZ}" in unfolded
    assert f"UID:{maintenance.public_id}@status.acme.test" in unfolded
    assert "SUMMARY:Acme maintenance: Database upgrade" in unfolded
    assert "We upgrade PostgreSQL\\; the API may be slow." in unfolded
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    html = client.get(f"/status/incidents/{maintenance.public_id}/").content.decode()
    assert "Database upgrade" in html and f"/status/maintenances/{maintenance.public_id}.ics" in html
    assert "Database upgrade" in client.get("/status/").content.decode()  # upcoming, on the page


def test_beat_runs_the_tick_every_minute():
    from config.celery import app

    entries = [e for e in app.conf.beat_schedule.values() if e["task"] == "statuspage.tasks.statuspage_tick"]
    assert len(entries) == 1 and entries[0]["schedule"] <= 60
    assert "statuspage.tasks.statuspage_tick" in app.tasks
