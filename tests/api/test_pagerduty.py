import json

import pytest

from incidents.models import Incident, TimelineEntry
from integrations.models import AlertGroup
from roles.models import Service
from tests.api.alerting import payload, post_pagerduty

pytestmark = pytest.mark.django_db


@pytest.fixture
def service(db):
    return Service.objects.create(name="Checkout")


def event(name, service, **overrides):
    return payload(name, routing_key=service.integration_key, **overrides)


def accepted(response, dedup_key=None):
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "success" and body["message"] == "Event processed"
    if dedup_key is not None:
        assert body["dedup_key"] == dedup_key
    return body


def test_trigger_acknowledge_resolve(client, service):
    accepted(post_pagerduty(client, event("pagerduty_trigger", service)), "checkout-5xx-rate")
    incident = Incident.objects.get()
    assert incident.severity == 2 and incident.title.startswith("Checkout 5xx rate")
    assert "eu-west-1" in incident.timeline.filter(kind=TimelineEntry.Kind.ALERT).get().body
    accepted(post_pagerduty(client, event("pagerduty_acknowledge", service)), "checkout-5xx-rate")
    assert AlertGroup.objects.get().status == "acknowledged"
    accepted(post_pagerduty(client, event("pagerduty_resolve", service)), "checkout-5xx-rate")
    group = AlertGroup.objects.get()
    assert group.status == "resolved" and not group.is_open
    assert Incident.objects.get().status == "triage"  # a person resolves it


def test_duplicate_triggers_land_on_the_open_alert(client, service):
    for _ in range(3):
        accepted(post_pagerduty(client, event("pagerduty_trigger", service)))
    assert Incident.objects.count() == 1
    assert AlertGroup.objects.get().event_count == 3
    assert Incident.objects.get().timeline.filter(kind=TimelineEntry.Kind.ALERT).count() == 1


def test_a_trigger_without_a_dedup_key_always_opens_a_new_alert(client, service):
    data = event("pagerduty_trigger", service)
    del data["dedup_key"]
    first = accepted(post_pagerduty(client, data))["dedup_key"]
    second = accepted(post_pagerduty(client, data))["dedup_key"]
    assert first and second and first != second
    assert Incident.objects.count() == 2


def test_a_trigger_after_resolve_opens_a_new_incident(client, service):
    post_pagerduty(client, event("pagerduty_trigger", service))
    post_pagerduty(client, event("pagerduty_resolve", service))
    accepted(post_pagerduty(client, event("pagerduty_trigger", service)))
    assert Incident.objects.count() == 2


def test_acknowledge_or_resolve_for_an_unknown_key_changes_nothing(client, service):
    accepted(
        post_pagerduty(client, event("pagerduty_acknowledge", service, dedup_key="never-seen")), "never-seen"
    )
    accepted(
        post_pagerduty(client, event("pagerduty_resolve", service, dedup_key="never-seen")), "never-seen"
    )
    assert Incident.objects.count() == 0 and AlertGroup.objects.count() == 0


def test_acknowledge_and_resolve_after_resolve_are_dropped(client, service):
    post_pagerduty(client, event("pagerduty_trigger", service))
    post_pagerduty(client, event("pagerduty_resolve", service))
    incident = Incident.objects.get()
    before = incident.timeline.count()
    accepted(post_pagerduty(client, event("pagerduty_acknowledge", service)))
    accepted(post_pagerduty(client, event("pagerduty_resolve", service)))
    assert incident.timeline.count() == before
    assert AlertGroup.objects.get().status == "resolved"


def test_alertmanagers_own_pagerduty_sender_works_unchanged(client, service):
    trigger = event("alertmanager_pagerduty_trigger", service)
    accepted(post_pagerduty(client, trigger), trigger["dedup_key"])
    incident = Incident.objects.get()
    assert incident.severity == 3  # "error"
    assert incident.title == "[FIRING:1] DiskFull (db1 node critical)"
    accepted(post_pagerduty(client, event("alertmanager_pagerduty_resolve", service)))
    assert not AlertGroup.objects.get().is_open


def invalid(response, needle):
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["status"] == "invalid event" and isinstance(body["errors"], list)
    assert any(needle in e for e in body["errors"]), body
    assert Incident.objects.count() == 0 and AlertGroup.objects.count() == 0
    return body


def test_an_unknown_routing_key_is_invalid(client, service):
    invalid(post_pagerduty(client, payload("pagerduty_trigger", routing_key="0" * 32)), "routing key")


def test_a_missing_routing_key_is_invalid(client, service):
    data = event("pagerduty_trigger", service)
    del data["routing_key"]
    invalid(post_pagerduty(client, data), "routing_key")


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"event_action": "explode"}, "event_action"),
        ({"dedup_key": "k" * 256}, "dedup_key"),
        ({"dedup_key": 42}, "dedup_key"),
        ({"payload": None}, "payload"),
        ({"payload": {"summary": "x", "source": "y", "severity": "apocalyptic"}}, "payload.severity"),
        ({"payload": {"source": "y", "severity": "info"}}, "payload.summary"),
        ({"payload": {"summary": "s" * 1025, "source": "y", "severity": "info"}}, "payload.summary"),
        ({"links": "http://x"}, "links"),
    ],
)
def test_malformed_events_are_invalid(client, service, change, needle):
    invalid(post_pagerduty(client, event("pagerduty_trigger", service, **change)), needle)


def test_acknowledge_without_a_dedup_key_is_invalid(client, service):
    data = event("pagerduty_acknowledge", service)
    del data["dedup_key"]
    invalid(post_pagerduty(client, data), "dedup_key")


def test_malformed_json_is_invalid(client, service):
    response = post_pagerduty(client, "{nope")
    assert response.status_code == 400 and response.json()["status"] == "invalid event"


def test_a_body_over_512_kb_is_refused(client, service):
    data = event("pagerduty_trigger", service)
    data["payload"]["custom_details"] = {"blob": "x" * (600 * 1024)}
    response = post_pagerduty(client, json.dumps(data))
    assert response.status_code == 413
    assert Incident.objects.count() == 0


def test_an_alert_that_opens_a_major_incident_asks_the_rollback_question_and_says_where_to_join(
    client, service
):
    service.bridge_url, service.chat_channel = "https://meet.example.com/checkout", "#checkout"
    service.save()
    accepted(post_pagerduty(client, event("pagerduty_trigger", service)))  # critical: SEV-2
    incident = Incident.objects.get()
    assert incident.is_major and incident.rollback_question_open
    assert (incident.bridge_url, incident.chat_channel) == ("https://meet.example.com/checkout", "#checkout")
    assert list(incident.services.all()) == [service]
