"""What the review pre-fills from the record, pins, publishing with a status-page postmortem, export."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from comms.models import Message
from reviews.models import Review
from reviews.record import review_record
from reviews.services import (
    ReviewError,
    factor_add,
    review_amend,
    review_pin,
    review_publish,
    review_schedule_meeting,
    review_write,
)
from statuspage import public_cache
from statuspage.models import PublicIncident
from tests.reviews.helpers import worked_sev1

pytestmark = pytest.mark.django_db


@pytest.fixture
def worked():
    return worked_sev1()


def test_the_record_prefills_every_part(worked):
    incident, review = worked["incident"], Review.objects.get(incident=worked["incident"])
    record = review_record(incident, review)
    assert record["severity"]["initial"] == 3 and record["severity"]["final"] == 1
    assert [(c["from"], c["to"]) for c in record["severity"]["changes"]] == [(3, 1)]
    roles = {(r["role"], r["person"]) for r in record["roles"]}
    assert ("incident_commander", "Iris Commander") in roles and ("customer_liaison", "Cleo Liaison") in roles
    assert all(r["seconds"] is not None for r in record["roles"])
    assert set(record["milestones"]) >= {"detected", "declared", "acknowledged", "mitigated", "resolved"}
    assert record["durations"]["to_resolve"] >= record["durations"]["to_mitigate"] >= 0
    assert record["pages"][0]["acknowledged_by"] == "Sasha Expert"
    assert record["pages"][0]["seconds_to_acknowledge"] is not None
    assert [u["status"] for u in record["public"]["updates"]] == ["investigating", "resolved"]
    assert record["components"][0]["name"] == "Checkout"
    assert record["components"][0]["worst_status"] == "major_outage"
    assert record["components"][0]["customer_visible_seconds"] is not None
    change = record["changes"][0]
    assert (change["what"], change["old_value"], change["new_value"]) == ("DB_POOL_SIZE", "20", "80")
    assert record["decisions"][0]["kind"] == "patch"
    kinds = {e["kind"] for e in record["timeline"]}
    assert {"status", "severity", "role", "decision", "change", "finding", "verification"} <= kinds
    assert "todo" not in kinds and "note" not in kinds


def test_the_owner_pins_and_unpins_timeline_entries(worked):
    incident, ic = worked["incident"], worked["ic"]
    review = Review.objects.get(incident=incident)
    todo = incident.timeline.get(kind="todo")
    finding = incident.timeline.get(kind="finding")
    review_pin(review=review, by=ic, entry=todo, included=True)
    review_pin(review=review, by=ic, entry=finding, included=False)
    ids = {e["id"] for e in review_record(incident, review)["timeline"]}
    assert todo.pk in ids and finding.pk not in ids
    with pytest.raises(ReviewError):
        review_pin(review=review, by=worked["sme"], entry=todo, included=False)  # not the owner


def test_publish_freezes_the_record_makes_it_read_only_and_posts_the_postmortem(worked):
    incident, ic = worked["incident"], worked["ic"]
    review = Review.objects.get(incident=incident)
    with pytest.raises(ReviewError, match="summary"):
        review_publish(review=review, by=ic)
    review_write(
        review=review, by=ic, sections={"summary": "Checkout failed.", "lessons": "Alert on the pool."}
    )
    review_write(review=review, by=ic, sections={"summary": "Checkout failed for 20 minutes."})
    assert review.edits.get(section="summary").previous_text == "Checkout failed."
    factor = factor_add(review=review, by=ic, text="The pool was sized for last year's traffic")
    factor_add(review=review, by=ic, text="Nobody reviews pool sizes", parent=factor)
    review_publish(review=review, by=ic, public_postmortem="A connection pool ran out; we now alert on it.")
    review.refresh_from_db()
    assert review.state == Review.State.PUBLISHED and review.published_record["incident"]["id"] == incident.pk
    with pytest.raises(ReviewError, match="amendment"):
        review_write(review=review, by=ic, sections={"summary": "changed"})
    review_amend(review=review, by=ic, body="The driver fix shipped on Friday.")
    assert review.amendments.count() == 1

    public = PublicIncident.objects.get(incident=incident)
    assert public.status == "postmortem" and "we now alert on it" in public.postmortem_body
    public_cache.refresh(force=True)
    incidents = json.loads(public_cache.lookup("api/incidents").body)["incidents"]
    assert incidents[0]["status"] == "postmortem"
    assert incidents[0]["resolved_at"] is not None
    unresolved = json.loads(public_cache.lookup("api/incidents/unresolved").body)["incidents"]
    assert unresolved == []


def test_the_meeting_invites_the_participants_with_a_calendar_file(worked):
    incident, ic = worked["incident"], worked["ic"]
    review = Review.objects.get(incident=incident)
    review_schedule_meeting(review=review, by=ic, at=timezone.now() + timedelta(days=2), location="Room 4")
    message = Message.objects.get(dedup_key=f"review:invite:{review.pk}:1")
    calendar = message.context["attachments"][0]["content"]
    assert "BEGIN:VEVENT" in calendar and "METHOD:REQUEST" in calendar and "SEQUENCE:1" in calendar
    invited = {d.user for d in message.deliveries.all() if d.user}
    assert {worked["ic"], worked["sme"], worked["liaison"]} <= invited
