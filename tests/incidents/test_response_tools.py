"""The response tools: hypotheses, decisions, changes with restore, verification, the rollback question."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import Change, Decision, Hypothesis, Incident, TimelineEntry, Verification
from incidents.services import IncidentError
from incidents.services.lifecycle import ChangesInPlace
from incidents.services.tools import (
    change_keep,
    change_record,
    change_restore,
    change_values_visible_to,
    decision_close,
    decision_record,
    hypothesis_decide,
    hypothesis_raise,
    incident_set_contacts,
    rollback_question_answer,
    verification_record,
)
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db

Kind = TimelineEntry.Kind


@pytest.fixture
def sev1(responder):
    return services.incident_declare(
        title="[Outage]: checkout", severity=1, declared_by=responder, rollback_considered="No, schema moved."
    )


def _last(incident: Incident) -> TimelineEntry:
    return incident.timeline.order_by("-revision", "-pk").first()


# --- Hypotheses ---------------------------------------------------------------------------------


def test_a_hypothesis_is_raised_open_and_ruled_out_with_evidence(sev1, responder):
    hypothesis = hypothesis_raise(incident=sev1, by=responder, statement="The database is the cause")
    assert hypothesis.state == Hypothesis.State.OPEN
    assert _last(sev1).data == {"hypothesis": hypothesis.pk, "state": "open"}

    hypothesis_decide(
        hypothesis=hypothesis,
        by=responder,
        state=Hypothesis.State.RULED_OUT,
        evidence="Database not affected, just checked the logs",
    )
    hypothesis.refresh_from_db()
    assert (hypothesis.state, hypothesis.decided_by) == (Hypothesis.State.RULED_OUT, responder)
    entry = _last(sev1)
    assert entry.kind == Kind.HYPOTHESIS and entry.by_portal
    assert entry.body.startswith("Ruled out: The database is the cause")
    assert "just checked the logs" in entry.body


def test_a_finding_on_the_timeline_can_be_the_evidence(sev1, responder):
    finding = services.timeline_add(
        incident=sev1, kind="finding", body="p99 of the pool is 30 s", author=responder
    )
    hypothesis = hypothesis_raise(incident=sev1, by=responder, statement="Pool exhaustion")
    hypothesis_decide(hypothesis=hypothesis, by=responder, state="confirmed", evidence_entry=finding)
    hypothesis.refresh_from_db()
    assert hypothesis.evidence_entry == finding and hypothesis.state == "confirmed"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"state": "confirmed"}, "Say what decided it"),
        ({"state": "open", "evidence": "x"}, "confirmed or ruled out"),
        ({"state": "confirmed", "evidence_url": "javascript:alert(1)"}, r"http\(s\) URL"),
    ],
)
def test_a_verdict_needs_evidence_and_a_real_state(sev1, responder, kwargs, message):
    hypothesis = hypothesis_raise(incident=sev1, by=responder, statement="DNS")
    with pytest.raises(IncidentError, match=message):
        hypothesis_decide(hypothesis=hypothesis, by=responder, **kwargs)
    hypothesis.refresh_from_db()
    assert hypothesis.state == "open"


def test_a_decided_hypothesis_stays_decided(sev1, responder):
    hypothesis = hypothesis_raise(incident=sev1, by=responder, statement="DNS")
    hypothesis_decide(hypothesis=hypothesis, by=responder, state="ruled_out", evidence="dig is fine")
    with pytest.raises(IncidentError, match="ruled out already"):
        hypothesis_decide(hypothesis=hypothesis, by=responder, state="confirmed", evidence="no")


def test_evidence_from_another_incident_is_refused(sev1, responder):
    other = IncidentFactory()
    foreign = services.timeline_add(incident=other, kind="finding", body="elsewhere", author=responder)
    hypothesis = hypothesis_raise(incident=sev1, by=responder, statement="DNS")
    with pytest.raises(IncidentError, match="another incident"):
        hypothesis_decide(hypothesis=hypothesis, by=responder, state="confirmed", evidence_entry=foreign)


# --- Decisions ----------------------------------------------------------------------------------


def test_decisions_run_in_parallel_and_close_done_or_abandoned(sev1, responder):
    hypothesis = hypothesis_raise(incident=sev1, by=responder, statement="Pool exhaustion")
    patch = decision_record(
        incident=sev1,
        by=responder,
        kind="patch",
        summary="Raise the pool",
        reason="Buys time",
        hypothesis=hypothesis,
    )
    rollback = decision_record(
        incident=sev1,
        by=responder,
        kind="rollback",
        summary="Roll back 4.2",
        reason="4.2 began it",
        rollback_to="4.1.9",
    )
    assert set(sev1.decisions.filter(state="active")) == {patch, rollback}
    assert "Rolling back to: 4.1.9" in _last(sev1).body
    decision_close(decision=rollback, by=responder, state="abandoned", note="Migration cannot be undone")
    decision_close(decision=patch, by=responder, state="done")
    assert {d.state for d in sev1.decisions.all()} == {"abandoned", "done"}
    with pytest.raises(IncidentError, match="done already"):
        decision_close(decision=patch, by=responder, state="abandoned")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "pray", "summary": "x", "reason": "y"}, "fix, a patch"),
        ({"kind": "fix", "summary": "", "reason": "y"}, "what you decided"),
        ({"kind": "fix", "summary": "x", "reason": "  "}, "Say why"),
        ({"kind": "rollback", "summary": "x", "reason": "y"}, "goes back to"),
    ],
)
def test_a_decision_needs_a_kind_a_reason_and_a_rollback_target(sev1, responder, kwargs, message):
    with pytest.raises(IncidentError, match=message):
        decision_record(incident=sev1, by=responder, **kwargs)
    assert not Decision.objects.exists()


# --- Changes ------------------------------------------------------------------------------------


def test_a_change_keeps_its_old_value_and_a_restore_is_a_change_too(sev1, responder):
    change = change_record(
        incident=sev1,
        by=responder,
        what="DB_POOL_SIZE",
        where="checkout env",
        old_value="20",
        new_value="80",
        how_to_restore="Set it back to 20 and redeploy",
    )
    assert change.is_in_place
    assert "Was: `20` · now: `80`" in _last(sev1).body

    restore = change_restore(change=change, by=responder, note="Pool is fine again")
    change.refresh_from_db()
    assert change.state == Change.State.REVERTED and change.settled_by == responder
    assert (restore.restores, restore.old_value, restore.new_value) == (change, "80", "20")
    assert not restore.is_in_place
    entry = _last(sev1)
    assert entry.kind == Kind.CHANGE and entry.body.startswith("Restored DB_POOL_SIZE")
    assert entry.data == {"change": restore.pk, "restores": change.pk, "state": "reverted"}
    with pytest.raises(IncidentError, match="still in place"):
        change_restore(change=change, by=responder)


def test_a_change_needs_a_value_and_a_place(sev1, responder):
    with pytest.raises(IncidentError, match="old value or the new one"):
        change_record(incident=sev1, by=responder, what="flag", where="LaunchDarkly")
    with pytest.raises(IncidentError, match="where"):
        change_record(incident=sev1, by=responder, what="flag", where=" ", new_value="off")
    assert not Change.objects.exists()


def test_a_back_dated_change_needs_a_reason(sev1, responder):
    earlier = timezone.now() - timedelta(minutes=20)
    with pytest.raises(IncidentError, match="back-dated"):
        change_record(
            incident=sev1, by=responder, what="flag", where="LD", new_value="off", occurred_at=earlier
        )
    change = change_record(
        incident=sev1,
        by=responder,
        what="flag",
        where="LD",
        new_value="off",
        occurred_at=earlier,
        backdate_reason="Done on the call",
    )
    assert change.occurred_at == earlier and _last(sev1).is_backdated


def test_a_sensitive_value_never_reaches_the_timeline(sev1, responder, admin_user, outsider):
    change = change_record(
        incident=sev1,
        by=responder,
        what="API key",
        where="payments",
        old_value="sk_old",
        new_value="sk_new",
        is_sensitive=True,
    )
    entry = _last(sev1)
    assert "sk_old" not in entry.body + entry.body_html and "sk_new" not in entry.body + entry.body_html
    assert change_values_visible_to(change, responder)
    assert change_values_visible_to(change, admin_user)
    assert not change_values_visible_to(change, outsider)
    restore = change_restore(change=change, by=responder)
    assert restore.is_sensitive and "sk_" not in _last(sev1).body


# --- Resolving a major incident -----------------------------------------------------------------


def test_resolving_asks_keep_or_restore_for_each_change_in_place(sev1, responder):
    first = change_record(
        incident=sev1, by=responder, what="pool", where="db", old_value="20", new_value="80"
    )
    second = change_record(
        incident=sev1, by=responder, what="flag", where="LD", old_value="on", new_value="off"
    )
    verification_record(incident=sev1, by=responder, checked="Checkout works from three regions")
    with pytest.raises(ChangesInPlace) as asked:
        services.incident_change_status(incident=sev1, status="resolved", by=responder)
    assert asked.value.changes == [first, second]
    sev1.refresh_from_db()
    assert sev1.status == "triage"

    with pytest.raises(ChangesInPlace):  # one answer is not enough, and nothing is half done
        services.incident_change_status(
            incident=sev1, status="resolved", by=responder, settle_changes={first.pk: "keep"}
        )
    first.refresh_from_db()
    assert first.state == "in_place"

    services.incident_change_status(
        incident=sev1,
        status="resolved",
        by=responder,
        settle_changes={first.pk: "keep", second.pk: "restore"},
    )
    sev1.refresh_from_db()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (sev1.status, first.state, second.state) == ("resolved", "kept", "reverted")


def test_a_minor_incident_resolves_with_changes_in_place(responder):
    minor = services.incident_declare(title="Slow search", severity=4, declared_by=responder)
    change_record(incident=minor, by=responder, what="cache ttl", where="search", new_value="60")
    services.incident_change_status(incident=minor, status="resolved", by=responder)
    assert Incident.objects.get(pk=minor.pk).status == "resolved"


def test_a_failed_verification_does_not_count(sev1, responder):
    verification_record(incident=sev1, by=responder, checked="Checkout", result="failed")
    with pytest.raises(IncidentError, match="verification step that passed"):
        services.incident_change_status(incident=sev1, status="resolved", by=responder)


def test_a_verification_from_before_the_reopen_does_not_count(sev1, responder):
    verification_record(incident=sev1, by=responder, checked="Checkout works")
    services.incident_change_status(incident=sev1, status="resolved", by=responder)
    services.incident_reopen(incident=sev1, by=responder, reason="Errors are back")
    sev1.refresh_from_db()
    assert sev1.mitigated_at is None and sev1.reopened_at is not None
    with pytest.raises(IncidentError, match="since it was reopened"):
        services.incident_change_status(incident=sev1, status="resolved", by=responder)
    verification_record(incident=sev1, by=responder, checked="Checkout works, again")
    services.incident_change_status(incident=sev1, status="resolved", by=responder)


def test_a_verification_written_as_text_counts_until_it_is_struck(sev1, responder):
    entry = services.timeline_add(
        incident=sev1, kind="verification", body="Checked checkout", author=responder
    )
    assert Verification.objects.get().entry == entry
    services.timeline_strike(entry=entry, by=responder, reason="Wrong region")
    with pytest.raises(IncidentError, match="verification"):
        services.incident_change_status(incident=sev1, status="resolved", by=responder)


# --- The rollback question ----------------------------------------------------------------------


def test_declaring_a_major_incident_without_an_answer_asks_it(responder):
    asked = services.incident_declare(title="Down", severity=2, declared_by=responder)
    assert asked.rollback_question_open
    answered = services.incident_declare(
        title="Down", severity=2, declared_by=responder, rollback_considered="No"
    )
    assert not answered.rollback_question_open
    minor = services.incident_declare(title="Slow", severity=3, declared_by=responder)
    assert not minor.rollback_question_open and minor.rollback_asked_at is None


def test_raising_to_major_asks_it_once(responder):
    incident = services.incident_declare(title="Slow", severity=3, declared_by=responder)
    services.incident_change_severity(incident=incident, severity=1, by=responder)
    incident.refresh_from_db()
    asked_at = incident.rollback_asked_at
    assert incident.rollback_question_open
    services.incident_change_severity(
        incident=incident, severity=2, by=responder, note="EU only"
    )  # still major
    incident.refresh_from_db()
    assert incident.rollback_asked_at == asked_at

    rollback_question_answer(incident=incident, by=responder, answer="No: the data migration ran")
    incident.refresh_from_db()
    assert not incident.rollback_question_open
    assert _last(incident).body == "Would a rollback fix this? No: the data migration ran"
    with pytest.raises(IncidentError, match="Answer the rollback question"):
        rollback_question_answer(incident=incident, by=responder, answer="   ")


def test_the_rollback_question_is_on_the_timeline_once_per_rise(responder):
    def asked(incident):
        return list(incident.timeline.filter(data__rollback_asked=True).values_list("body", flat=True))

    incident = services.incident_declare(title="Slow", severity=3, declared_by=responder)
    assert asked(incident) == []
    services.incident_change_severity(incident=incident, severity=1, by=responder)
    assert len(asked(incident)) == 1 and asked(incident)[0].startswith("Rollback question: would a rollback")
    services.incident_change_severity(incident=incident, severity=2, by=responder, note="EU only")
    assert len(asked(incident)) == 1  # still major: not a new rise
    services.incident_change_severity(incident=incident, severity=3, by=responder, note="Contained")
    services.incident_change_severity(incident=incident, severity=2, by=responder)
    assert len(asked(incident)) == 2  # a new rise, still unanswered
    rollback_question_answer(incident=incident, by=responder, answer="No: the data migration ran")
    services.incident_change_severity(incident=incident, severity=3, by=responder, note="Contained")
    services.incident_change_severity(incident=incident, severity=1, by=responder)
    assert len(asked(incident)) == 2  # answered already: not asked again

    declared_major = services.incident_declare(title="Down", severity=1, declared_by=responder)
    assert len(asked(declared_major)) == 1
    considered = services.incident_declare(
        title="Down too", severity=1, declared_by=responder, rollback_considered="No deploy today"
    )
    assert asked(considered) == []


# --- Where to join, and what was declared ----------------------------------------------------------


def test_contacts_are_validated_and_their_changes_keep_the_previous_ones(sev1, responder):
    with pytest.raises(IncidentError, match="http"):
        incident_set_contacts(incident=sev1, by=responder, bridge_url="ftp://x")
    with pytest.raises(IncidentError, match="link"):
        incident_set_contacts(incident=sev1, by=responder, dashboards="Grafana grafana.local/d/1")
    incident_set_contacts(
        incident=sev1,
        by=responder,
        bridge_url="https://meet.example.com/inc",
        chat_channel="#inc-checkout",
        dashboards="Grafana https://grafana.example.com/d/1\nhttps://status.example.com",
    )
    sev1.refresh_from_db()
    assert sev1.link_list("dashboards") == [
        ("Grafana", "https://grafana.example.com/d/1"),
        ("https://status.example.com", "https://status.example.com"),
    ]
    incident_set_contacts(incident=sev1, by=responder, bridge_url="https://meet.example.com/other")
    entry = _last(sev1)
    assert entry.data["previous"]["bridge_url"] == "https://meet.example.com/inc"
    assert entry.data["previous"]["chat_channel"] == "#inc-checkout"


def test_a_new_incident_inherits_its_services_links(responder):
    from roles.models import Service

    service = Service.objects.create(
        name="checkout", bridge_url="https://meet.example.com/checkout", chat_channel="#checkout"
    )
    incident = services.incident_declare(title="Down", severity=3, declared_by=responder, services=[service])
    assert (incident.bridge_url, incident.chat_channel) == ("https://meet.example.com/checkout", "#checkout")
    assert list(incident.services.all()) == [service]


def test_editing_what_was_declared_keeps_the_previous_values(sev1, responder):
    from roles.models import Service

    service = Service.objects.create(name="checkout")
    services.incident_edit_details(
        incident=sev1, by=responder, title="[Outage]: checkout EU", summary="Only EU", services=[service]
    )
    entry = _last(sev1)
    assert entry.data["previous"] == {"title": "[Outage]: checkout", "summary": "", "services": []}
    assert entry.data["details"]["services"] == [service.pk]


# --- Portal entries -------------------------------------------------------------------------------


def test_the_portal_s_entries_cannot_be_edited_or_struck(responder):
    incident = services.incident_declare(title="Down", severity=3, declared_by=responder)
    services.incident_set_deploy_freeze(incident=incident, freeze=True, by=responder)
    freeze = _last(incident)
    assert freeze.by_portal
    with pytest.raises(IncidentError, match="written by the portal"):
        services.timeline_strike(entry=freeze, by=responder, reason="oops")
    with pytest.raises(IncidentError, match="written by the portal"):
        services.timeline_edit(entry=freeze, body="no freeze", by=UserFactory(is_staff=True))


def test_resolving_lifts_the_freeze_with_its_own_entry(responder):
    incident = services.incident_declare(title="Down", severity=3, declared_by=responder)
    services.incident_set_deploy_freeze(incident=incident, freeze=True, by=responder)
    services.incident_change_status(incident=incident, status="resolved", by=responder)
    incident.refresh_from_db()
    assert not incident.deploy_freeze
    lifted = incident.timeline.filter(data__freeze=False).get()
    assert lifted.body == "Deploy freeze lifted: the incident is resolved." and lifted.by_portal


def test_a_closed_incident_takes_no_new_records(responder):
    incident = services.incident_declare(title="Down", severity=3, declared_by=responder)
    services.incident_change_status(incident=incident, status="declined", by=responder, note="A bad check")
    with pytest.raises(IncidentError, match="reopen it"):
        hypothesis_raise(incident=incident, by=responder, statement="x")
    with pytest.raises(IncidentError, match="reopen it"):
        change_record(incident=incident, by=responder, what="x", where="y", new_value="z")


def test_keeping_a_change_settles_it(sev1, responder):
    change = change_record(incident=sev1, by=responder, what="pool", where="db", new_value="80")
    change_keep(change=change, by=responder, note="The new normal")
    change.refresh_from_db()
    assert change.state == "kept" and not change.is_in_place
