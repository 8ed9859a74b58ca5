"""The review's other surfaces: the print page, the public postmortem, adding a follow-up from the page."""

import re

import pytest
from django.utils import timezone

from incidents.services import incident_change_status, incident_declare
from reviews.models import FollowUp, Review
from reviews.services import review_start, review_write
from statuspage import public_cache
from statuspage.models import PublicIncident
from tests.factories import UserFactory
from tests.reviews.helpers import worked_sev1

pytestmark = pytest.mark.django_db


@pytest.fixture
def worked():
    return worked_sev1()


def test_the_print_page_has_every_section_for_a_reader_who_may_see_it(worked, client):
    incident, ic = worked["incident"], worked["ic"]
    review = Review.objects.get(incident=incident)
    review_write(
        review=review,
        by=ic,
        sections={"summary": "Checkout failed for twenty minutes.", "lessons": "Alert on pool saturation."},
    )
    # Takes no part, and the incident is not restricted: may read it.
    reader = UserFactory(first_name="Rita", last_name="Reader")
    client.force_login(reader)
    response = client.get(f"/incidents/{incident.number}/review/print/")
    assert response.status_code == 200
    body = response.content.decode()
    headings = re.findall(r"<h2[^>]*>(.*?)</h2>", body)
    for label in Review.SECTIONS.values():
        assert label in headings
    assert "Contributing factors" in headings and "Follow-ups" in headings and "Timeline" in headings
    assert "Checkout failed for twenty minutes." in body and "Alert on pool saturation." in body
    # Not written yet, and said so.
    assert body.count("Not written.") == len(Review.SECTIONS) - 2
    # The record: the people involved and the patch's follow-up.
    assert "Iris Commander" in body and "Sasha Expert" in body
    assert "Replace the patch with a real fix" in body
    assert "<form" not in body  # a page to print, nothing to edit


def test_a_restricted_reviews_print_page_for_its_participant(client):
    member = UserFactory(first_name="Paula", last_name="Participant")
    incident = incident_declare(
        title="Credential leak", severity=3, declared_by=member, is_security=True, rollback_considered="No"
    )
    incident_change_status(incident=incident, status="resolved", by=member)
    review = review_start(incident=incident, by=member)
    review_write(review=review, by=member, sections={"summary": "A key was in a public repository."})
    client.force_login(member)
    response = client.get(f"/incidents/{incident.number}/review/print/")
    assert response.status_code == 200
    assert "A key was in a public repository." in response.content.decode()
    client.force_login(UserFactory())
    assert client.get(f"/incidents/{incident.number}/review/print/").status_code == 404


def public_incident_page(client, incident) -> str:
    public = PublicIncident.objects.get(incident=incident)
    response = client.get(f"/status/incidents/{public.public_id}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_status_pages_incident_shows_the_postmortem_once_published(
    worked, client, django_capture_on_commit_callbacks
):
    incident, ic = worked["incident"], worked["ic"]
    public_cache.refresh(force=True)  # the helper's updates were published in a transaction never committed
    assert "Postmortem" not in public_incident_page(client, incident)

    client.force_login(ic)
    client.post(f"/incidents/{incident.number}/review/write/", {"summary": "The pool ran out."})
    public_cache.refresh(force=True)
    page = public_incident_page(client, incident)
    assert "Postmortem" not in page and "The pool ran out." not in page  # a draft is not public

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/incidents/{incident.number}/review/publish/",
            {"public_postmortem": "A database connection pool ran out.\n\nWe now alert before it does."},
        )
    assert response.status_code == 302
    page = public_incident_page(client, incident)
    section = re.search(r'<section class="sp-postmortem".*?</section>', page, re.S)
    assert section, "no postmortem section"
    assert "<h2" in section.group(0) and "Postmortem" in section.group(0)
    assert "<p>A database connection pool ran out.</p>" in section.group(0)
    assert "<p>We now alert before it does.</p>" in section.group(0)
    assert "Postmortem" in re.search(r'<span class="sp-pill">(.*?)</span>', page).group(1)
    # What the team wrote for itself stays inside.
    assert "The pool ran out." not in page


def test_a_follow_up_added_from_the_review_page(worked, client):
    incident, ic, sme = worked["incident"], worked["ic"], worked["sme"]
    client.force_login(ic)
    due = timezone.localdate() + timezone.timedelta(days=14)
    response = client.post(
        f"/incidents/{incident.number}/follow-ups/",
        {
            "title": "Alert on pool saturation at 80%",
            "description": "Page the owner of checkout.",
            "owner": sme.pk,
            "due_on": due.isoformat(),
            "priority": "2",
            "tracker_url": "https://linear.app/acme/issue/OPS-12",
        },
        follow=True,
    )
    assert response.redirect_chain == [(f"/incidents/{incident.number}/review/#follow-ups", 302)]
    assert "Follow-up added." in response.content.decode()
    follow_up = FollowUp.objects.get(title="Alert on pool saturation at 80%")
    assert (follow_up.owner, follow_up.due_on, follow_up.priority) == (sme, due, 2)
    assert follow_up.source == FollowUp.Source.REVIEW and follow_up.created_by == ic
    assert follow_up.review == Review.objects.get(incident=incident)
    assert follow_up.tracker_url == "https://linear.app/acme/issue/OPS-12"
    # Listed on the review page, with its owner.
    assert "Alert on pool saturation at 80%" in response.content.decode()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": "   "}, "This field is required."),
        ({"title": "Rotate", "tracker_url": "javascript:alert(1)"}, "Enter a valid URL."),
        ({"title": "Rotate", "priority": "9"}, "Select a valid choice."),
        ({"title": "Rotate", "owner": "999999"}, "Select a valid choice."),
        ({"title": "Rotate", "due_on": "next week"}, "Enter a valid date."),
    ],
)
def test_a_bad_follow_up_from_the_review_page_is_refused_and_writes_nothing(worked, client, fields, message):
    incident = worked["incident"]
    before = FollowUp.objects.count()
    client.force_login(worked["ic"])
    response = client.post(f"/incidents/{incident.number}/follow-ups/", {"priority": "3", **fields})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert FollowUp.objects.count() == before


def test_an_owner_who_may_not_see_a_restricted_incident_is_refused(client):
    member = UserFactory()
    incident = incident_declare(
        title="Credential leak", severity=3, declared_by=member, is_security=True, rollback_considered="No"
    )
    incident_change_status(incident=incident, status="resolved", by=member)
    review_start(incident=incident, by=member)
    outsider = UserFactory(first_name="Otto", last_name="Outsider")
    client.force_login(member)
    response = client.post(
        f"/incidents/{incident.number}/follow-ups/",
        {"title": "Rotate", "priority": "3", "owner": outsider.pk},
    )
    assert response.status_code == 422
    assert "does not take part" in response.content.decode()
    assert not FollowUp.objects.filter(incident=incident).exists()
    # And someone who may not see the incident cannot add to it at all.
    client.force_login(outsider)
    refused = client.post(f"/incidents/{incident.number}/follow-ups/", {"title": "Rotate", "priority": "3"})
    assert refused.status_code == 404
    assert not FollowUp.objects.filter(incident=incident).exists()
