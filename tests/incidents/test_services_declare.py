"""Declaring an incident: numbers without gaps, the first timeline entry, and all-or-nothing."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from incidents import services
from incidents.models import Incident, IncidentCounter, Participation, TimelineEntry
from incidents.services import IncidentError

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def at_now():
    """The test runs at NOW, its fixtures too: the person declaring is not written at the
    real clock, months after NOW (a year after in make test-future)."""
    with time_machine.travel(NOW, tick=False):
        yield


def _rows() -> tuple[int, int, int, int]:
    return (
        Incident.objects.count(),
        TimelineEntry.objects.count(),
        Participation.objects.count(),
        IncidentCounter.objects.filter(last_number__gt=0).count(),
    )


@pytest.mark.usefixtures("at_now")
def test_it_declares_an_incident(responder):
    incident = services.incident_declare(
        title="  [Outage]: Checkout fails  ",
        severity=1,
        declared_by=responder,
        summary="EU only",
        detected_at=NOW - timedelta(minutes=10),
        rollback_considered="No: nothing was deployed today.",
    )
    incident.refresh_from_db()
    assert incident.reference == "INC-1"
    assert str(incident) == "INC-1: [Outage]: Checkout fails"
    assert incident.title == "[Outage]: Checkout fails"
    assert incident.status == Incident.Status.TRIAGE
    assert incident.severity == 1 and incident.is_major and incident.is_open
    assert incident.declared_at == NOW
    assert incident.detected_at == NOW - timedelta(minutes=10)
    assert incident.declared_by == responder
    assert incident.rollback_considered == "No: nothing was deployed today."
    # Declared major: the rise is recorded too (nobody on call to page, stakeholders told).
    assert incident.revision == 2
    assert list(incident.participants.all()) == [responder]
    assert incident.timeline.get(kind=TimelineEntry.Kind.NOTE).data["major_rise"] is True
    entry = incident.timeline.get(kind=TimelineEntry.Kind.STATUS)
    assert entry.kind == TimelineEntry.Kind.STATUS
    assert entry.body == "Declared as SEV-1\n\nWould a rollback fix this? No: nothing was deployed today."
    assert entry.data == {"to": "triage", "severity": 1}
    assert entry.author == responder
    assert entry.revision == entry.revision_created == 1


def test_a_security_incident_says_it_is_restricted(responder):
    incident = services.incident_declare(
        title="Token leak", severity=2, declared_by=responder, is_security=True
    )
    assert incident.is_security
    declared = incident.timeline.get(kind=TimelineEntry.Kind.STATUS)
    assert declared.body == "Declared as SEV-2 (security incident: restricted to participants)"


def test_it_numbers_incidents_without_gaps(responder):
    first = services.incident_declare(title="One", severity=3, declared_by=responder)
    with pytest.raises(IncidentError):
        services.incident_declare(title="   ", severity=3, declared_by=responder)
    second = services.incident_declare(title="Two", severity=4, declared_by=None)
    third = services.incident_declare(title="Three", severity=5, declared_by=responder)
    assert [first.reference, second.reference, third.reference] == ["INC-1", "INC-2", "INC-3"]
    assert IncidentCounter.objects.get().last_number == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"title": "   "}, "An incident needs a title."),
        ({"severity": 0}, "Severity must be SEV-1 to SEV-5."),
        ({"severity": 6}, "Severity must be SEV-1 to SEV-5."),
        ({"detected_at": NOW + timedelta(minutes=1)}, "An incident cannot be detected in the future."),
    ],
)
@pytest.mark.usefixtures("at_now")
def test_it_refuses_bad_input_and_writes_nothing(responder, kwargs, message):
    args = {"title": "Checkout fails", "severity": 3, "declared_by": responder, **kwargs}
    with pytest.raises(IncidentError) as refused:
        services.incident_declare(**args)
    assert str(refused.value) == message
    assert _rows() == (0, 0, 0, 0)


def test_a_failure_half_way_rolls_back_the_number_too(responder, monkeypatch):
    """The counter is bumped before the incident is written: a later failure must undo it."""

    def broken_entry(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("incidents.services.lifecycle.write_entry", broken_entry)
    with pytest.raises(RuntimeError):
        services.incident_declare(title="Checkout fails", severity=3, declared_by=responder)
    assert _rows() == (0, 0, 0, 0)

    monkeypatch.undo()
    assert services.incident_declare(title="Checkout fails", severity=3, declared_by=responder).number == 1


def test_a_failure_half_way_through_a_status_change_writes_nothing(responder, incident, monkeypatch):
    def broken_entry(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("incidents.services.lifecycle.write_entry", broken_entry)
    with pytest.raises(RuntimeError):
        services.incident_change_status(incident=incident, status="investigating", by=responder)
    incident.refresh_from_db()
    assert (incident.status, incident.revision, incident.acknowledged_at) == ("triage", 1, None)
    assert TimelineEntry.objects.count() == 1
