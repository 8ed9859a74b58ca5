"""The review is drafted when it is due: resolving a SEV-1/2, once per incident; on demand for others."""

from datetime import date

import pytest
from django.utils import timezone

from incidents.models import Incident
from incidents.services import incident_change_status, incident_declare, incident_reopen
from incidents.services.tools import verification_record
from reviews.models import Review, ReviewAmendment
from reviews.services import ReviewError, add_business_days, review_publish, review_start, review_write
from tests.factories import UserFactory
from tests.reviews.helpers import worked_sev1

pytestmark = pytest.mark.django_db


def test_resolving_a_sev1_drafts_its_review_owned_by_the_ic_due_in_five_business_days():
    worked = worked_sev1()
    incident, ic = worked["incident"], worked["ic"]
    review = Review.objects.get(incident=incident)
    assert review.state == Review.State.DRAFT
    assert review.owner == ic
    resolved_day = timezone.localtime(incident.resolved_at).date()
    assert review.due_on == add_business_days(resolved_day, 5)
    assert review.due_on.weekday() < 5
    assert incident.timeline.filter(
        data__review=review.pk, body__startswith="Post-incident review drafted"
    ).exists()
    # The TODO of the room is linked to the review that came after it.
    assert review.follow_ups.filter(title="Alert on pool saturation").exists()


def test_business_days_skip_the_weekend():
    friday = date(2026, 12, 4)
    assert add_business_days(friday, 1) == date(2026, 12, 7)
    assert add_business_days(friday, 5) == date(2026, 12, 11)


def test_a_sev3_gets_no_review_by_itself_but_one_on_demand():
    user = UserFactory()
    incident = incident_declare(title="Slow search", severity=3, declared_by=user)
    incident_change_status(incident=incident, status=Incident.Status.RESOLVED, by=user)
    assert not Review.objects.filter(incident=incident).exists()
    review = review_start(incident=incident, by=user)
    assert review.owner == user
    with pytest.raises(ReviewError, match="has a review already"):
        review_start(incident=incident, by=user)


def test_an_open_incident_has_no_review_on_demand():
    user = UserFactory()
    incident = incident_declare(title="Slow search", severity=3, declared_by=user)
    with pytest.raises(ReviewError, match="once the incident is resolved"):
        review_start(incident=incident, by=user)


def test_reopen_and_resolve_again_keeps_one_review_and_updates_a_published_record():
    worked = worked_sev1()
    incident, ic = worked["incident"], worked["ic"]
    review = Review.objects.get(incident=incident)
    review_write(review=review, by=ic, sections={"summary": "Checkout failed for 20 minutes."})
    review_publish(review=review, by=ic)
    review.refresh_from_db()
    first_resolved = review.published_record["milestones"]["resolved"]

    incident_reopen(incident=incident, by=ic, reason="Errors are back")
    verification_record(incident=incident, by=ic, checked="Checked again")
    incident_change_status(incident=incident, status=Incident.Status.RESOLVED, by=ic)

    assert Review.objects.filter(incident=incident).count() == 1
    review.refresh_from_db()
    incident.refresh_from_db()
    assert review.published_record["reopen_count"] == 1
    assert review.published_record["milestones"]["resolved"] == incident.resolved_at.isoformat()
    assert review.published_record["milestones"]["resolved"] != first_resolved
    assert (
        ReviewAmendment.objects.filter(review=review, body__contains="reopened and resolved again").count()
        == 1
    )


def test_a_draft_review_follows_the_incident_through_a_reopen():
    worked = worked_sev1()
    incident, ic = worked["incident"], worked["ic"]
    incident_reopen(incident=incident, by=ic, reason="Errors are back")
    verification_record(incident=incident, by=ic, checked="Checked again")
    incident_change_status(incident=incident, status=Incident.Status.RESOLVED, by=ic)
    assert Review.objects.filter(incident=incident).count() == 1
    assert not ReviewAmendment.objects.exists()
