"""Every clock's definition on hand-built timelines (reviews/metrics.py; README, Metric definitions)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from incidents.models import Incident
from incidents.services import incident_change_status, incident_declare, incident_reopen
from reviews import metrics
from reviews.insights import insights
from tests.factories import UserFactory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
S = Incident.Status


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_the_clocks_start_at_detection_and_stop_at_each_milestone():
    clocks = metrics.clocks(
        status=S.RESOLVED, detected_at=at(0), acknowledged_at=at(5), mitigated_at=at(20), resolved_at=at(60)
    )
    assert clocks == {"to_acknowledge": 300.0, "to_mitigate": 1200.0, "to_resolve": 3600.0}


def test_an_incident_never_acknowledged_has_no_time_to_acknowledge():
    clocks = metrics.clocks(
        status=S.TRIAGE, detected_at=at(0), acknowledged_at=None, mitigated_at=None, resolved_at=None
    )
    assert clocks == {"to_acknowledge": None, "to_mitigate": None, "to_resolve": None}


def test_an_open_incident_mitigated_counts_for_mitigation_not_resolution():
    clocks = metrics.clocks(
        status=S.MONITORING, detected_at=at(0), acknowledged_at=at(1), mitigated_at=at(10), resolved_at=None
    )
    assert clocks["to_mitigate"] == 600.0 and clocks["to_resolve"] is None


def test_a_declined_incident_is_in_no_figure():
    clocks = metrics.clocks(
        status=S.DECLINED, detected_at=at(0), acknowledged_at=at(1), mitigated_at=None, resolved_at=at(2)
    )
    assert set(clocks.values()) == {None}


def test_a_back_dated_detection_never_makes_a_negative_span():
    assert metrics.span(at(10), at(5)) == 0.0


def test_median_and_p90_nearest_rank():
    values = [float(v) for v in range(1, 11)]  # 1..10
    assert metrics.median(values) == 5.5
    assert metrics.p90(values) == 9.0
    assert metrics.p90([7.0]) == 7.0
    assert metrics.median([]) is None and metrics.p90([]) is None


@pytest.mark.django_db
def test_a_reopened_incident_runs_to_its_last_mitigation_and_resolution():

    user = UserFactory(is_staff=True)
    with time_machine.travel(at(0), tick=False):
        incident = incident_declare(title="Flaky", severity=3, declared_by=user)
    with time_machine.travel(at(4), tick=False):
        incident_change_status(incident=incident, status=S.INVESTIGATING, by=user)
    with time_machine.travel(at(10), tick=False):
        incident_change_status(incident=incident, status=S.RESOLVED, by=user)
    with time_machine.travel(at(30), tick=False):
        incident_reopen(incident=incident, by=user, reason="Back again")
    with time_machine.travel(at(45), tick=False):
        incident_change_status(incident=incident, status=S.MONITORING, by=user)
    with time_machine.travel(at(50), tick=False):
        incident_change_status(incident=incident, status=S.RESOLVED, by=user)
    incident.refresh_from_db()
    clocks = metrics.incident_clocks(incident)
    # Acknowledged once, at 4; mitigated again at 45 (the reopen cleared 10); resolved finally at 50.
    assert clocks == {"to_acknowledge": 240.0, "to_mitigate": 45 * 60.0, "to_resolve": 50 * 60.0}

    with time_machine.travel(at(60), tick=False):
        data = insights(user=user, days=30)
    sev3 = next(r for r in data.by_severity if r["severity"] == 3)
    assert sev3["incidents"] == 1 and sev3["not_acknowledged"] == 0
    assert sev3["clocks"]["to_resolve"].median == 3000.0


@pytest.mark.django_db
def test_insights_count_unacknowledged_incidents_apart():

    user = UserFactory(is_staff=True)
    with time_machine.travel(at(0), tick=False):
        incident_declare(title="Nobody took it", severity=2, declared_by=user, rollback_considered="No")
        other = incident_declare(title="Taken", severity=2, declared_by=user, rollback_considered="No")
    with time_machine.travel(at(3), tick=False):
        incident_change_status(incident=other, status=S.INVESTIGATING, by=user)
    with time_machine.travel(at(10), tick=False):
        data = insights(user=user, days=30)
    sev2 = next(r for r in data.by_severity if r["severity"] == 2)
    assert sev2["incidents"] == 2
    assert sev2["not_acknowledged"] == 1
    assert sev2["clocks"]["to_acknowledge"].count == 1
    assert sev2["clocks"]["to_acknowledge"].median == 180.0
