import json

import pytest

from incidents.models import Incident, TimelineEntry
from incidents.services import incident_change_status
from integrations.models import AlertGroup, AlertSettings
from roles.models import Page, Service
from tests.api.alerting import payload, post_alertmanager
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def service(db):
    return Service.objects.create(name="Database", primary_owner=UserFactory(), secondary_owner=UserFactory())


def alerts_of(incident):
    return incident.timeline.filter(kind=TimelineEntry.Kind.ALERT).order_by("id")


def test_a_firing_group_opens_one_incident_in_triage(client, service):
    response = post_alertmanager(client, payload("alertmanager_firing"), service.integration_key)
    assert response.status_code == 200, response.content
    assert response.json()["created"] is True
    incident = Incident.objects.get()
    assert incident.status == "triage"
    assert incident.severity == 2  # "critical" with the default map
    assert incident.title == "[DiskFull]: Disk full on db1 (+1 more)"
    assert list(incident.services.all()) == [service]
    group = AlertGroup.objects.get()
    assert group.dedup_key == '{}:{alertname="DiskFull"}' and group.is_open
    # Each firing alert is a timeline entry.
    bodies = [e.body for e in alerts_of(incident)]
    assert len(bodies) == 2 and "db1" in bodies[0] and "db2" in bodies[1]


def test_the_services_owners_are_paged_for_a_new_incident(client, service):
    post_alertmanager(client, payload("alertmanager_firing"), service.integration_key)
    page = Page.objects.get()
    assert page.service == service and page.incident == Incident.objects.get()
    assert set(page.notified.values_list("pk", flat=True)) == {service.primary_owner_id}


def test_a_service_without_people_records_that_nobody_was_paged(client, db):
    lonely = Service.objects.create(name="Orphan")
    assert (
        post_alertmanager(client, payload("alertmanager_firing"), lonely.integration_key).status_code == 200
    )
    incident = Incident.objects.get()
    assert Page.objects.count() == 0
    assert incident.timeline.filter(
        kind=TimelineEntry.Kind.PAGE, body__startswith="Nobody was paged"
    ).exists()


def test_re_sends_are_idempotent(client, service):
    for _ in range(3):
        assert (
            post_alertmanager(client, payload("alertmanager_firing"), service.integration_key).status_code
            == 200
        )
    incident = Incident.objects.get()
    assert alerts_of(incident).count() == 2  # one per alert, none for the re-sends
    assert AlertGroup.objects.get().event_count == 3
    assert Page.objects.count() == 1


def test_a_new_alert_in_the_group_is_a_new_timeline_entry(client, service):
    post_alertmanager(client, payload("alertmanager_firing"), service.integration_key)
    data = payload("alertmanager_firing")
    third = dict(
        data["alerts"][0],
        fingerprint="ffff000011112222",
        labels={"alertname": "DiskFull", "instance": "db3"},
        annotations={"summary": "Disk full on db3"},
    )
    data["alerts"].append(third)
    post_alertmanager(client, data, service.integration_key)
    entries = list(alerts_of(Incident.objects.get()))
    assert len(entries) == 3 and "db3" in entries[2].body and "db1" not in entries[2].body


def test_resolved_records_the_clearing_but_leaves_the_incident_to_a_person(client, service):
    post_alertmanager(client, payload("alertmanager_firing"), service.integration_key)
    response = post_alertmanager(client, payload("alertmanager_resolved"), service.integration_key)
    assert response.status_code == 200
    incident = Incident.objects.get()
    assert incident.status == "triage"
    assert alerts_of(incident).last().body.startswith("Alerts cleared")
    assert not AlertGroup.objects.get().is_open
    # Re-sent resolve: nothing more.
    post_alertmanager(client, payload("alertmanager_resolved"), service.integration_key)
    assert alerts_of(incident).count() == 3


def test_auto_resolve_resolves_when_the_service_says_so(client, service):
    AlertSettings.objects.create(service=service, auto_resolve=True, severity_map={"critical": 3})
    post_alertmanager(client, payload("alertmanager_firing"), service.integration_key)
    incident = Incident.objects.get()
    assert incident.severity == 3
    post_alertmanager(client, payload("alertmanager_resolved"), service.integration_key)
    incident.refresh_from_db()
    assert incident.status == "resolved"


def test_auto_resolve_of_a_major_incident_without_verification_is_written_down(client, service):
    AlertSettings.objects.create(service=service, auto_resolve=True)
    post_alertmanager(client, payload("alertmanager_firing"), service.integration_key)
    post_alertmanager(client, payload("alertmanager_resolved"), service.integration_key)
    incident = Incident.objects.get()
    assert incident.status == "triage"
    assert incident.timeline.filter(body__contains="not resolved automatically").exists()


def test_firing_after_resolve_opens_a_new_incident(client, service):
    post_alertmanager(client, payload("alertmanager_firing"), service.integration_key)
    post_alertmanager(client, payload("alertmanager_resolved"), service.integration_key)
    post_alertmanager(client, payload("alertmanager_firing"), service.integration_key)
    assert Incident.objects.count() == 2
    assert AlertGroup.objects.filter(resolved_at__isnull=True).count() == 1


def test_firing_after_a_person_resolved_the_incident_opens_a_new_one(client, service):
    post_alertmanager(client, payload("alertmanager_firing"), service.integration_key)
    first = Incident.objects.get()
    incident_change_status(incident=first, status="declined", by=None, note="bad check")
    post_alertmanager(client, payload("alertmanager_firing"), service.integration_key)
    assert Incident.objects.count() == 2


def test_the_severity_label_is_configurable(client, service):
    AlertSettings.objects.create(
        service=service, severity_label="priority", severity_map={"p1": 1}, default_severity=4
    )
    data = payload("alertmanager_firing")
    data["commonLabels"]["priority"] = "p1"
    post_alertmanager(client, data, service.integration_key)
    assert Incident.objects.get().severity == 1


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nope", "Basic abc"])
def test_a_missing_or_unknown_key_is_401_and_writes_nothing(client, service, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.post(
        "/integrations/alertmanager/",
        json.dumps(payload("alertmanager_firing")),
        content_type="application/json",
        **extra,
    )
    assert response.status_code == 401
    assert set(response.json()) == {"detail", "code", "errors"}
    assert Incident.objects.count() == 0


@pytest.mark.parametrize(
    "body, needle",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (json.dumps(payload("alertmanager_firing", version="3")), "version"),
        (json.dumps(payload("alertmanager_firing", alerts="many")), "alerts"),
        (json.dumps(payload("alertmanager_firing", groupKey=5)), "groupKey"),
        (json.dumps(payload("alertmanager_firing", commonLabels={"severity": 1})), "commonLabels"),
        (json.dumps(payload("alertmanager_firing", status="burning")), "status"),
    ],
)
def test_bad_payloads_are_400_with_a_message_and_write_nothing(client, service, body, needle):
    response = post_alertmanager(client, body, service.integration_key)
    assert response.status_code == 400
    text = json.dumps(response.json())
    assert needle in text
    assert Incident.objects.count() == 0 and AlertGroup.objects.count() == 0


def test_a_body_over_512_kb_is_413(client, service):
    data = payload("alertmanager_firing")
    data["commonAnnotations"] = {"description": "x" * (512 * 1024)}
    response = post_alertmanager(client, data, service.integration_key)
    assert response.status_code == 413
    assert "512 KB" in response.json()["detail"]
    assert Incident.objects.count() == 0


def test_get_is_refused(client, service):
    assert client.get("/integrations/alertmanager/").status_code == 405


def test_an_overlong_group_key_is_hashed_into_the_dedup_key(client, service):
    data = payload("alertmanager_firing", groupKey="{}:{" + "x" * 400 + "}")
    post_alertmanager(client, data, service.integration_key)
    post_alertmanager(client, data, service.integration_key)
    group = AlertGroup.objects.get()
    assert group.dedup_key.startswith("sha256:") and len(group.dedup_key) <= 255
    assert Incident.objects.count() == 1


def test_it_needs_no_csrf_token(service):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert (
        post_alertmanager(strict, payload("alertmanager_firing"), service.integration_key).status_code == 200
    )


def test_the_payloads_of_a_real_alertmanager_open_and_clear_one_incident(client, service):
    """Captured from prometheus-alertmanager 0.25 (see fixtures/README.md)."""
    firing = post_alertmanager(client, payload("alertmanager_0.25_firing"), service.integration_key)
    assert firing.status_code == 200 and firing.json()["created"] is True
    incident = Incident.objects.get()
    assert incident.title == "[DiskFull]: Disk full on db1" and incident.severity == 2
    assert (
        post_alertmanager(client, payload("alertmanager_0.25_resolved"), service.integration_key).status_code
        == 200
    )
    assert alerts_of(incident).last().body.startswith("Alerts cleared")
    assert not AlertGroup.objects.get().is_open


def test_the_teams_on_call_roster_is_paged_before_the_owners(client, service):
    from datetime import timedelta

    from django.utils import timezone

    from roles.models import LayerMember, RotationLayer, Schedule, Team

    team = Team.objects.create(name="DBA")
    service.team = team
    service.save()
    roster = Schedule.objects.create(name="DBA on call", team=team)
    layer = RotationLayer.objects.create(
        schedule=roster, start_date=(timezone.now() - timedelta(days=1)).date()
    )
    on_call = UserFactory()
    LayerMember.objects.create(layer=layer, user=on_call, position=0)
    post_alertmanager(client, payload("alertmanager_firing"), service.integration_key)
    page = Page.objects.get()
    assert page.schedule == roster
    assert list(page.notified.values_list("pk", flat=True)) == [on_call.pk]


def test_admins_read_and_change_a_services_alert_settings(service, user):
    from tests.api.conftest import TokenClient

    admin = TokenClient(UserFactory(is_staff=True))
    url = f"/api/v1/services/{service.pk}/alert-settings/"
    assert TokenClient(user).get(url).status_code == 403
    current = admin.get(url).json()
    assert current["integration_key"] == service.integration_key and current["severity_label"] == "severity"
    new = {
        "severity_label": "priority",
        "severity_map": {"P1": 1},
        "default_severity": 4,
        "auto_resolve": True,
        "page_on_call": False,
    }
    response = admin.put(url, new, format="json")
    assert response.status_code == 200, response.content
    settings_ = AlertSettings.objects.get(service=service)
    assert settings_.severity_map == {"p1": 1} and settings_.auto_resolve and not settings_.page_on_call
    bad = admin.put(url, {**new, "severity_map": {"P1": 9}}, format="json")
    assert bad.status_code == 400 and "severity_map.P1" in bad.json()["errors"]
    assert AlertSettings.objects.get(service=service).severity_map == {"p1": 1}


def test_a_huge_group_writes_a_bounded_number_of_entries(client, service):
    data = payload("alertmanager_firing")
    template = data["alerts"][0]
    data["alerts"] = [
        dict(template, fingerprint=f"{i:016x}", labels={"alertname": "DiskFull", "instance": f"db{i}"})
        for i in range(120)
    ]
    assert post_alertmanager(client, data, service.integration_key).status_code == 200
    entries = list(alerts_of(Incident.objects.get()))
    assert len(entries) == 51 and entries[-1].body.startswith("…and 70 more")


def test_a_firing_group_that_opens_a_major_incident_asks_the_rollback_question(client, service, user):
    """The question is asked on every route to major (issue 12): Alertmanager as PagerDuty."""
    service.bridge_url, service.chat_channel = "https://meet.example.com/db", "#db"
    service.save()
    accepted = post_alertmanager(client, payload("alertmanager_firing"), service.integration_key)
    assert accepted.status_code == 200, accepted.content
    incident = Incident.objects.get()  # "critical": SEV-2
    assert incident.is_major and incident.rollback_question_open and incident.rollback_considered == ""
    assert (incident.bridge_url, incident.chat_channel) == ("https://meet.example.com/db", "#db")
    # The room asks it at the top, and the API reports it open.
    client.force_login(user)
    room = client.get(incident.get_absolute_url()).content.decode()
    assert "Rollback question." in room and f'action="/incidents/{incident.number}/rollback/"' in room
    assert client.get(f"/api/v1/incidents/{incident.pk}/").json()["rollback_question_open"] is True


def test_a_minor_alert_does_not_ask_the_rollback_question(client, service):
    data = payload("alertmanager_firing")
    data["commonLabels"]["severity"] = "warning"  # SEV-4
    post_alertmanager(client, data, service.integration_key)
    incident = Incident.objects.get()
    assert incident.severity == 4 and not incident.rollback_question_open
    assert incident.rollback_asked_at is None
