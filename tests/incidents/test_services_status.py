"""Status, severity, reopen and deploy freeze: what each service allows, refuses and writes."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from incidents import services
from incidents.models import Incident, TimelineEntry
from incidents.services import TRANSITIONS, IncidentError
from tests.factories import IncidentFactory

Status = Incident.Status
Kind = TimelineEntry.Kind
ALL_STATUSES = list(Status.values)
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def at_t0():
    """The test starts at T0, its fixtures too: nothing it reads is written at the real clock,
    which is months after T0 (a year after in make test-future)."""
    with time_machine.travel(T0, tick=False):
        yield


def _incident_in(status: str, *, by, severity: int = 3) -> Incident:
    """An incident brought to `status` the way a responder would (triage allows every step)."""
    incident = IncidentFactory(declared_by=by, severity=severity)
    if status != Status.TRIAGE:
        # Declining needs a reason (issue 13): give one, as a responder would.
        note = "A monitoring fluke" if status == Status.DECLINED else ""
        services.incident_change_status(incident=incident, status=status, by=by, note=note)
    incident.refresh_from_db()
    return incident


def _snapshot(incident: Incident) -> tuple:
    incident.refresh_from_db()
    return (
        incident.status,
        incident.severity,
        incident.revision,
        incident.deploy_freeze,
        incident.acknowledged_at,
        incident.mitigated_at,
        incident.resolved_at,
        TimelineEntry.objects.count(),
    )


ALLOWED = [(old, Status(new).value) for old in ALL_STATUSES for new in sorted(TRANSITIONS[old])]
REFUSED = [
    (old, new) for old in ALL_STATUSES for new in ALL_STATUSES if new != old and new not in TRANSITIONS[old]
]


def test_it_has_explicit_rules_for_every_status():
    # Written out again on purpose: a change to the rules must be a change to this test too.
    assert TRANSITIONS == {
        "triage": {"investigating", "identified", "monitoring", "resolved", "declined"},
        "investigating": {"identified", "monitoring", "resolved", "declined"},
        "identified": {"investigating", "monitoring", "resolved"},
        "monitoring": {"investigating", "identified", "resolved"},
        # Closed incidents are left only through incident_reopen.
        "resolved": set(),
        "declined": set(),
    }
    assert len(ALLOWED) + len(REFUSED) == 30


@pytest.mark.parametrize(("old", "new"), ALLOWED)
def test_it_allows_the_transition(responder, old, new):
    incident = _incident_in(old, by=responder)
    revision = incident.revision
    entries = TimelineEntry.objects.count()

    result = services.incident_change_status(incident=incident, status=new, by=responder, note="  why  ")

    incident.refresh_from_db()
    assert result.status == new
    assert incident.status == new
    assert incident.revision == revision + 1
    assert TimelineEntry.objects.count() == entries + 1
    entry = incident.timeline.get(revision=incident.revision)
    assert entry.kind == Kind.STATUS
    assert entry.body == f"Status changed from {Status(old).label} to {Status(new).label}\n\nwhy"
    assert entry.data == {"from": old, "to": new}
    assert entry.author == responder
    assert entry.revision_created == incident.revision


@pytest.mark.parametrize(("old", "new"), REFUSED)
def test_it_refuses_the_transition_and_writes_nothing(responder, old, new):
    incident = _incident_in(old, by=responder)
    before = _snapshot(incident)

    with pytest.raises(IncidentError) as refused:
        services.incident_change_status(incident=incident, status=new, by=responder)

    if old in Incident.CLOSED_STATUSES:
        expected = (
            f"The incident is {Status(old).label.lower()}: reopen it, with a reason, "
            "before changing its status."
        )
    else:
        expected = f"An incident cannot go from {Status(old).label.lower()} to {Status(new).label.lower()}."
    assert str(refused.value) == expected
    assert _snapshot(incident) == before


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_it_refuses_the_same_status(responder, status):
    incident = _incident_in(status, by=responder)
    before = _snapshot(incident)
    with pytest.raises(IncidentError, match=f"already {Status(status).label.lower()}"):
        services.incident_change_status(incident=incident, status=status, by=responder)
    assert _snapshot(incident) == before


def test_it_refuses_an_unknown_status(responder, incident):
    before = _snapshot(incident)
    with pytest.raises(IncidentError, match="'on fire' is not a status."):
        services.incident_change_status(incident=incident, status="on fire", by=responder)
    assert _snapshot(incident) == before


@pytest.mark.usefixtures("at_t0")
def test_it_stamps_acknowledged_mitigated_and_resolved(responder):
    incident = IncidentFactory(declared_by=responder)
    assert (incident.acknowledged_at, incident.mitigated_at, incident.resolved_at) == (None, None, None)

    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        services.incident_change_status(incident=incident, status=Status.INVESTIGATING, by=responder)
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        services.incident_change_status(incident=incident, status=Status.IDENTIFIED, by=responder)
    incident.refresh_from_db()
    # Acknowledged when it left triage, and only then.
    assert incident.acknowledged_at == T0 + timedelta(minutes=5)
    assert incident.mitigated_at is None

    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        services.incident_change_status(incident=incident, status=Status.MONITORING, by=responder)
    with time_machine.travel(T0 + timedelta(minutes=25), tick=False):
        services.incident_change_status(incident=incident, status=Status.INVESTIGATING, by=responder)
    with time_machine.travel(T0 + timedelta(minutes=40), tick=False):
        services.incident_change_status(incident=incident, status=Status.RESOLVED, by=responder)
    incident.refresh_from_db()
    assert incident.acknowledged_at == T0 + timedelta(minutes=5)
    # Mitigated the first time it was monitored; a relapse does not move it.
    assert incident.mitigated_at == T0 + timedelta(minutes=20)
    assert incident.resolved_at == T0 + timedelta(minutes=40)
    assert incident.age == timedelta(minutes=40)


@pytest.mark.usefixtures("at_t0")
def test_it_stamps_mitigated_when_resolved_straight_from_triage(responder):
    incident = IncidentFactory(declared_by=responder)
    services.incident_change_status(incident=incident, status=Status.RESOLVED, by=responder)
    incident.refresh_from_db()
    assert incident.acknowledged_at == incident.mitigated_at == incident.resolved_at == T0


def test_it_stamps_resolved_but_not_mitigated_when_declined(responder):
    incident = _incident_in(Status.INVESTIGATING, by=responder)
    services.incident_change_status(incident=incident, status=Status.DECLINED, by=responder, note="A fluke")
    incident.refresh_from_db()
    assert incident.resolved_at is not None
    assert incident.mitigated_at is None
    assert not incident.is_open


def test_closing_lifts_the_deploy_freeze(responder, incident):
    services.incident_set_deploy_freeze(incident=incident, freeze=True, by=responder)
    services.incident_change_status(incident=incident, status=Status.RESOLVED, by=responder)
    incident.refresh_from_db()
    assert incident.deploy_freeze is False


def test_the_declarer_and_whoever_changes_status_take_part(responder, outsider, incident):
    assert list(incident.participants.all()) == [responder]
    services.incident_change_status(incident=incident, status=Status.INVESTIGATING, by=outsider)
    assert set(incident.participants.all()) == {responder, outsider}


# --- A major incident needs a verification step before the all-clear ---------------


@pytest.mark.parametrize("severity", [1, 2])
def test_it_refuses_to_resolve_a_major_incident_without_verification(responder, severity):
    incident = _incident_in(Status.MONITORING, by=responder, severity=severity)
    services.timeline_add(incident=incident, kind=Kind.NOTE, body="Looks fine to me", author=responder)
    before = _snapshot(incident)
    with pytest.raises(IncidentError, match="at least one verification step"):
        services.incident_change_status(incident=incident, status=Status.RESOLVED, by=responder)
    assert _snapshot(incident) == before


def test_a_struck_verification_does_not_count(responder):
    incident = _incident_in(Status.MONITORING, by=responder, severity=1)
    step = services.timeline_add(
        incident=incident, kind=Kind.VERIFICATION, body="Checked checkout in the EU", author=responder
    )
    services.timeline_strike(entry=step, by=responder, reason="Checked the wrong region")
    with pytest.raises(IncidentError, match="verification step"):
        services.incident_change_status(incident=incident, status=Status.RESOLVED, by=responder)


def test_it_resolves_a_major_incident_after_a_verification_step(responder):
    incident = _incident_in(Status.MONITORING, by=responder, severity=1)
    services.timeline_add(
        incident=incident, kind=Kind.VERIFICATION, body="Test order placed from the EU", author=responder
    )
    services.incident_change_status(incident=incident, status=Status.RESOLVED, by=responder)
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED


def test_a_minor_incident_resolves_without_verification(responder):
    incident = _incident_in(Status.MONITORING, by=responder, severity=3)
    services.incident_change_status(incident=incident, status=Status.RESOLVED, by=responder)
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED


def test_a_major_incident_can_be_declined_without_verification(responder):
    incident = _incident_in(Status.TRIAGE, by=responder, severity=1)
    services.incident_change_status(incident=incident, status=Status.DECLINED, by=responder, note="A fluke")
    incident.refresh_from_db()
    assert incident.status == Status.DECLINED


# --- Reopen --------------------------------------------------------------------------


@pytest.mark.parametrize("closed", [Status.RESOLVED, Status.DECLINED])
def test_it_reopens_a_closed_incident_with_a_reason(responder, outsider, closed):
    incident = _incident_in(closed, by=responder)
    revision = incident.revision

    services.incident_reopen(incident=incident, by=outsider, reason="  Errors are back  ")

    incident.refresh_from_db()
    assert incident.status == Status.INVESTIGATING
    assert incident.resolved_at is None
    assert incident.is_open
    assert incident.revision == revision + 1
    entry = incident.timeline.get(revision=incident.revision)
    assert entry.kind == Kind.STATUS
    # Resolving set the mitigation time, which the reopen clears and says so; declining never set it.
    mitigated = closed == Status.RESOLVED
    cleared = "\n\nNot mitigated any more: the mitigation time is cleared." if mitigated else ""
    assert entry.body == f"Reopened (was {Status(closed).label.lower()})\n\nErrors are back{cleared}"
    expected = {"from": closed, "to": Status.INVESTIGATING, "reopened": True}
    assert entry.data == ({**expected, "mitigated_cleared": True} if mitigated else expected)
    assert incident.mitigated_at is None
    assert entry.author == outsider
    assert outsider in incident.participants.all()
    # And from there the ordinary rules apply again.
    services.incident_change_status(incident=incident, status=Status.IDENTIFIED, by=responder)


@pytest.mark.parametrize("status", Incident.OPEN_STATUSES)
def test_it_reopens_only_closed_incidents(responder, status):
    incident = _incident_in(status, by=responder)
    before = _snapshot(incident)
    with pytest.raises(IncidentError, match="Only a resolved or declined incident can be reopened."):
        services.incident_reopen(incident=incident, by=responder, reason="Because")
    assert _snapshot(incident) == before


@pytest.mark.parametrize("reason", ["", "   \n "])
def test_it_reopens_only_with_a_reason(responder, reason):
    incident = _incident_in(Status.RESOLVED, by=responder)
    before = _snapshot(incident)
    with pytest.raises(IncidentError, match="Say why the incident is reopened."):
        services.incident_reopen(incident=incident, by=responder, reason=reason)
    assert _snapshot(incident) == before


# --- Severity ------------------------------------------------------------------------


def test_it_raises_the_severity(responder, incident):
    revision = incident.revision
    services.incident_change_severity(incident=incident, severity=1, by=responder, note="EU checkout down")
    incident.refresh_from_db()
    assert incident.severity == 1
    assert incident.is_major
    # The raise, and what a rise to major does (recorded in its own entry, once).
    assert incident.revision == revision + 2
    entry = incident.timeline.get(kind=Kind.SEVERITY)
    assert incident.timeline.get(revision=incident.revision).data["major_rise"] is True
    assert entry.body == "Severity raised from SEV-3 to SEV-1\n\nEU checkout down"
    assert entry.data == {"from": 3, "to": 1}


def test_it_lowers_the_severity(responder, incident):
    services.incident_change_severity(incident=incident, severity=5, by=responder, note="Cosmetic only")
    incident.refresh_from_db()
    entry = incident.timeline.get(revision=incident.revision)
    assert entry.body == "Severity lowered from SEV-3 to SEV-5\n\nCosmetic only"
    assert entry.data == {"from": 3, "to": 5}


@pytest.mark.parametrize(
    ("severity", "message"),
    [
        (3, "The incident is already SEV-3."),
        (0, "Severity must be SEV-1 to SEV-5."),
        (6, "Severity must be SEV-1 to SEV-5."),
    ],
)
def test_it_refuses_a_bad_severity(responder, incident, severity, message):
    before = _snapshot(incident)
    with pytest.raises(IncidentError) as refused:
        services.incident_change_severity(incident=incident, severity=severity, by=responder)
    assert str(refused.value) == message
    assert _snapshot(incident) == before


def test_a_closed_incident_keeps_its_severity(responder):
    incident = _incident_in(Status.RESOLVED, by=responder)
    before = _snapshot(incident)
    with pytest.raises(IncidentError, match="A closed incident keeps its severity; reopen it first."):
        services.incident_change_severity(incident=incident, severity=1, by=responder)
    assert _snapshot(incident) == before


# --- Deploy freeze -------------------------------------------------------------------


def test_it_freezes_and_lifts_deploys(responder, incident):
    revision = incident.revision
    services.incident_set_deploy_freeze(incident=incident, freeze=True, by=responder)
    incident.refresh_from_db()
    assert incident.deploy_freeze is True
    assert incident.revision == revision + 1
    entry = incident.timeline.get(revision=incident.revision)
    assert entry.kind == Kind.ACTION
    assert entry.body == "Deploy freeze on: developers, do not deploy until it is lifted."
    assert entry.data == {"freeze": True}

    services.incident_set_deploy_freeze(incident=incident, freeze=False, by=responder)
    incident.refresh_from_db()
    assert incident.deploy_freeze is False
    entry = incident.timeline.get(revision=incident.revision)
    assert entry.body == "Deploy freeze lifted."
    assert entry.data == {"freeze": False}


@pytest.mark.parametrize(("frozen", "message"), [(True, "already on."), (False, "already off.")])
def test_it_refuses_a_freeze_that_is_already_so(responder, incident, frozen, message):
    if frozen:
        services.incident_set_deploy_freeze(incident=incident, freeze=True, by=responder)
    before = _snapshot(incident)
    with pytest.raises(IncidentError, match=message):
        services.incident_set_deploy_freeze(incident=incident, freeze=frozen, by=responder)
    assert _snapshot(incident) == before


def test_a_closed_incident_cannot_freeze_deploys(responder):
    incident = _incident_in(Status.RESOLVED, by=responder)
    before = _snapshot(incident)
    with pytest.raises(IncidentError, match="A closed incident cannot freeze deploys."):
        services.incident_set_deploy_freeze(incident=incident, freeze=True, by=responder)
    assert _snapshot(incident) == before


def test_declining_or_lowering_the_severity_needs_a_reason(responder):
    incident = _incident_in(Status.INVESTIGATING, by=responder, severity=2)
    with pytest.raises(IncidentError, match="Say why the incident is declined"):
        services.incident_change_status(incident=incident, status=Status.DECLINED, by=responder, note="  ")
    with pytest.raises(IncidentError, match="Say why the severity is lowered"):
        services.incident_change_severity(incident=incident, severity=4, by=responder)
    incident.refresh_from_db()
    assert (incident.status, incident.severity) == (Status.INVESTIGATING, 2)
    services.incident_change_severity(incident=incident, severity=1, by=responder)  # raising needs none
