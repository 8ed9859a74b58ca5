"""Every review form answers a refusal with the review page again: the reason, a 4xx, nothing written.

A bad form is a 400, a person who may not do it a 403, a change the rules refuse a 422. The
reason is the page's message (at its top, shown without scrolling) and the refused form keeps
what was typed. A client that follows redirects cannot mistake any of them for a success.
"""

import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from comms.models import Message
from incidents.models import TimelineEntry
from incidents.services import incident_change_status, incident_declare
from reviews.models import ContributingFactor, FollowUp, Review, ReviewAmendment, ReviewEdit, ReviewPin
from reviews.services import factor_add, review_publish, review_start, review_write
from statuspage.models import PublicIncident
from tests.factories import UserFactory
from tests.reviews.helpers import worked_sev1

pytestmark = pytest.mark.django_db


@pytest.fixture
def worked():
    worked = worked_sev1()
    worked["review"] = Review.objects.get(incident=worked["incident"])
    return worked


def url(worked, path: str) -> str:
    return f"/incidents/{worked['incident'].number}/review/{path}"


def published(worked) -> Review:
    review = review_write(review=worked["review"], by=worked["ic"], sections={"summary": "The pool ran out."})
    return review_publish(review=review, by=worked["ic"])


def database() -> dict:
    """Every row a review form could write, field by field."""
    tables = {
        "reviews": Review.objects.all(),
        "attendees": Review.meeting_attendees.through.objects.all(),
        "edits": ReviewEdit.objects.all(),
        "factors": ContributingFactor.objects.all(),
        "pins": ReviewPin.objects.all(),
        "amendments": ReviewAmendment.objects.all(),
        "follow_ups": FollowUp.objects.all(),
        "timeline": TimelineEntry.objects.all(),
        "messages": Message.objects.all(),
        "public": PublicIncident.objects.all(),
    }
    return {name: list(qs.order_by("pk").values()) for name, qs in tables.items()}


def messages_shown(response) -> str:
    """The page's messages, as a person reads them."""
    found = re.search(r'<div class="messages" role="status">(.*?)</div>', response.content.decode(), re.S)
    assert found, "no message on the page"
    return html.unescape(re.sub(r"<[^>]+>", " ", found.group(1)))


def refused(client, path: str, data: dict, status: int, reason: str):
    """Post, and check the answer is the review page again with the reason, and nothing written."""
    before = database()
    response = client.post(path, data)
    assert response.status_code == status, response.content[:500]
    assert "<h1>Post-incident review</h1>" in response.content.decode()
    assert reason in messages_shown(response)
    assert database() == before
    return response


# --- The sections ------------------------------------------------------------------------------------


def test_write_with_a_section_too_long_is_a_400_and_keeps_what_was_typed(worked, client):
    client.force_login(worked["ic"])
    response = refused(
        client,
        url(worked, "write/"),
        {"summary": "Checkout failed, here is why.", "lessons": "x" * (Review.SECTION_MAX + 1)},
        400,
        "Lessons: Ensure this value has at most 20000 characters",
    )
    assert "Checkout failed, here is why.</textarea>" in response.content.decode()


def test_write_by_someone_who_takes_no_part_is_a_403(worked, client):
    client.force_login(UserFactory())  # sees the incident (not restricted), took no part in it
    refused(
        client,
        url(worked, "write/"),
        {"summary": "Not mine to write."},
        403,
        "Only the review's owner, the incident's participants and admins write the review.",
    )


def test_write_once_published_is_a_422(worked, client):
    published(worked)
    client.force_login(worked["ic"])
    refused(
        client,
        url(worked, "write/"),
        {"summary": "Rewritten"},
        422,
        "The review is published: add an amendment instead.",
    )


def test_a_saved_section_still_redirects(worked, client):
    client.force_login(worked["ic"])
    response = client.post(url(worked, "write/"), {"summary": "The pool ran out."})
    assert response.status_code == 302 and response["Location"].endswith("/review/#write")
    assert Review.objects.get(pk=worked["review"].pk).summary == "The pool ran out."


# --- Owner and due date ------------------------------------------------------------------------------


def test_steer_with_a_bad_date_is_a_400_with_the_form_open(worked, client):
    client.force_login(worked["ic"])
    reason = "Due on: Enter a valid date."
    response = refused(client, url(worked, "steer/"), {"due_on": "next week"}, 400, reason)
    assert "<details open><summary>Change owner or due date</summary>" in response.content.decode()


def test_steer_by_someone_not_the_owner_is_a_403(worked, client):
    client.force_login(worked["sme"])
    due = (timezone.localdate() + timedelta(days=30)).isoformat()
    reason = "Only the review's owner (or an admin) may do that."
    refused(client, url(worked, "steer/"), {"due_on": due}, 403, reason)


def test_steer_to_an_owner_who_may_not_see_a_restricted_incident_is_a_422(client):
    member = UserFactory()
    incident = incident_declare(
        title="Credential leak", severity=3, declared_by=member, is_security=True, rollback_considered="No"
    )
    incident_change_status(incident=incident, status="resolved", by=member)
    review_start(incident=incident, by=member)
    outsider = UserFactory(first_name="Otto", last_name="Outsider")
    client.force_login(member)
    refused(
        client,
        f"/incidents/{incident.number}/review/steer/",
        {"owner": outsider.pk},
        422,
        "Otto Outsider cannot see this incident, so cannot own its review.",
    )


# --- Contributing factors ----------------------------------------------------------------------------


def test_a_factor_without_text_is_a_400(worked, client):
    client.force_login(worked["ic"])
    refused(client, url(worked, "factors/"), {"text": ""}, 400, "Text: This field is required.")


def test_an_eighth_why_is_a_422_and_keeps_nothing_of_it(worked, client):
    review, ic = worked["review"], worked["ic"]
    parent = None
    for depth in range(7):
        parent = factor_add(review=review, by=ic, text=f"Why {depth}", parent=parent)
    client.force_login(ic)
    refused(
        client,
        url(worked, "factors/"),
        {"text": "One why too many", "parent": parent.pk},
        422,
        "Seven whys deep is enough: add it as a factor of its own.",
    )


def test_a_factor_refused_keeps_what_was_typed(worked, client):
    client.force_login(worked["ic"])
    text = "Pools are sized by hand " * 90  # over 2,000 characters
    response = refused(
        client, url(worked, "factors/"), {"text": text}, 400, "Ensure this value has at most 2000 characters"
    )
    assert f'aria-label="New contributing factor" value="{text}"' in response.content.decode()


def test_a_factor_by_someone_who_takes_no_part_is_a_403(worked, client):
    client.force_login(UserFactory())
    refused(
        client,
        url(worked, "factors/"),
        {"text": "Pools are sized by hand"},
        403,
        "Only the review's owner, the incident's participants and admins write the review.",
    )


def test_a_factor_edit_too_long_is_a_400(worked, client):
    factor = factor_add(review=worked["review"], by=worked["ic"], text="The pool was too small")
    client.force_login(worked["ic"])
    refused(
        client,
        url(worked, f"factors/{factor.pk}/"),
        {"text": "x" * 2001},
        400,
        "Ensure this value has at most 2000 characters",
    )


def test_a_factor_edit_once_published_is_a_422(worked, client):
    factor = factor_add(review=worked["review"], by=worked["ic"], text="The pool was too small")
    published(worked)
    client.force_login(worked["ic"])
    refused(
        client,
        url(worked, f"factors/{factor.pk}/"),
        {"text": "The pool was sized for last year"},
        422,
        "The review is published: add an amendment instead.",
    )


def test_a_factor_edit_by_someone_who_takes_no_part_is_a_403(worked, client):
    factor = factor_add(review=worked["review"], by=worked["ic"], text="The pool was too small")
    client.force_login(UserFactory())
    refused(
        client,
        url(worked, f"factors/{factor.pk}/"),
        {"text": "Somebody's fault"},
        403,
        "Only the review's owner, the incident's participants and admins write the review.",
    )


# --- Pins --------------------------------------------------------------------------------------------


def test_a_pin_of_no_entry_is_a_400(worked, client):
    client.force_login(worked["ic"])
    reason = "Entry: Enter a whole number."
    refused(client, url(worked, "pins/"), {"entry": "abc", "included": "on"}, 400, reason)


def test_a_pin_by_someone_not_the_owner_is_a_403(worked, client):
    entry = worked["incident"].timeline.first()
    client.force_login(worked["sme"])
    refused(
        client,
        url(worked, "pins/"),
        {"entry": entry.pk, "included": "on"},
        403,
        "Only the review's owner (or an admin) may do that.",
    )


def test_a_pin_once_published_is_a_422(worked, client):
    entry = worked["incident"].timeline.first()
    published(worked)
    client.force_login(worked["ic"])
    refused(
        client,
        url(worked, "pins/"),
        {"entry": entry.pk, "included": "on"},
        422,
        "The review is published: its timeline is final.",
    )


def test_a_refused_pin_comes_back_to_its_page_of_entries(worked, client):
    client.force_login(worked["ic"])
    response = refused(
        client, url(worked, "pins/"), {"entry": "0", "entries": "1"}, 400, "Ensure this value is greater than"
    )
    body = response.content.decode()
    assert 'id="pins"' in body
    # The pager's links lead to the review page, not to the URL the form was posted to.
    assert 'href="?entries=' not in body


# --- The meeting -------------------------------------------------------------------------------------


def in_days(days: int) -> str:
    return timezone.localtime(timezone.now() + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


def test_a_meeting_of_one_minute_is_a_400_and_keeps_what_was_typed(worked, client):
    client.force_login(worked["ic"])
    at = in_days(2)
    response = refused(
        client,
        url(worked, "meeting/"),
        {"at": at, "minutes": "1", "location": "Room 4"},
        400,
        "Minutes: Ensure this value is greater than or equal to 5.",
    )
    body = response.content.decode()
    assert f'name="at" required value="{at}"' in body and 'value="Room 4"' in body


def test_a_meeting_in_the_past_is_a_422_and_invites_nobody(worked, client):
    client.force_login(worked["ic"])
    refused(
        client,
        url(worked, "meeting/"),
        {"at": in_days(-1), "minutes": "60", "location": "Room 4"},
        422,
        "The meeting must be in the future.",
    )


def test_a_meeting_by_someone_not_the_owner_is_a_403(worked, client):
    client.force_login(worked["sme"])
    refused(
        client,
        url(worked, "meeting/"),
        {"at": in_days(2), "minutes": "60"},
        403,
        "Only the review's owner (or an admin) may do that.",
    )


def test_a_scheduled_meeting_still_redirects(worked, client):
    client.force_login(worked["ic"])
    response = client.post(url(worked, "meeting/"), {"at": in_days(2), "minutes": "60", "location": "Room 4"})
    assert response.status_code == 302 and response["Location"].endswith("/review/#meeting")
    assert Review.objects.get(pk=worked["review"].pk).meeting_location == "Room 4"


# --- The state ---------------------------------------------------------------------------------------


def test_an_unknown_state_is_a_400(worked, client):
    client.force_login(worked["ic"])
    refused(client, url(worked, "state/"), {"state": "finished"}, 400, "State: Select a valid choice.")


def test_published_through_the_state_form_is_a_422(worked, client):
    client.force_login(worked["ic"])
    refused(
        client,
        url(worked, "state/"),
        {"state": "published"},
        422,
        "Publish the review with its own button (it freezes the record).",
    )


def test_the_state_by_someone_not_the_owner_is_a_403(worked, client):
    client.force_login(worked["sme"])
    refused(client, url(worked, "state/"), {"state": "in_review"}, 403, "Only the review's owner")


# --- Publishing --------------------------------------------------------------------------------------


def test_a_postmortem_too_long_is_a_400_and_keeps_what_was_typed(worked, client):
    review_write(review=worked["review"], by=worked["ic"], sections={"summary": "The pool ran out."})
    client.force_login(worked["ic"])
    text = "We ran out of connections. " * 400
    response = refused(
        client,
        url(worked, "publish/"),
        {"public_postmortem": text},
        400,
        "Ensure this value has at most 10000 characters",
    )
    assert text.strip() in html.unescape(response.content.decode())


def test_publishing_without_a_summary_is_a_422(worked, client):
    client.force_login(worked["ic"])
    refused(
        client,
        url(worked, "publish/"),
        {"public_postmortem": "It broke."},
        422,
        "Write the summary before publishing.",
    )


def test_publishing_twice_is_a_422(worked, client):
    published(worked)
    client.force_login(worked["ic"])
    refused(
        client,
        url(worked, "publish/"),
        {"public_postmortem": "Again"},
        422,
        "The review is published already: amend it instead.",
    )


# --- Amendments --------------------------------------------------------------------------------------


def test_an_empty_amendment_is_a_400(worked, client):
    published(worked)
    client.force_login(worked["ic"])
    refused(client, url(worked, "amend/"), {"body": ""}, 400, "Body: This field is required.")


def test_an_amendment_before_publishing_is_a_422(worked, client):
    client.force_login(worked["ic"])
    refused(
        client,
        url(worked, "amend/"),
        {"body": "The driver fix shipped."},
        422,
        "The review is not published yet: edit it directly.",
    )


def test_an_amendment_by_someone_who_takes_no_part_is_a_403(worked, client):
    published(worked)
    client.force_login(UserFactory())
    refused(
        client,
        url(worked, "amend/"),
        {"body": "The driver fix shipped."},
        403,
        "Only the review's owner, the incident's participants and admins amend the review.",
    )


def test_a_refused_amendment_keeps_what_was_typed(worked, client):
    published(worked)
    client.force_login(worked["ic"])
    body = {"body": "The fix shipped.\x00"}
    response = refused(client, url(worked, "amend/"), body, 400, "Null characters are not allowed.")
    assert "The fix shipped." in response.content.decode()


def test_an_amendment_still_redirects(worked, client):
    published(worked)
    client.force_login(worked["ic"])
    response = client.post(url(worked, "amend/"), {"body": "The driver fix shipped."})
    assert response.status_code == 302 and response["Location"].endswith("/review/#amendments")
    assert ReviewAmendment.objects.get(review=worked["review"]).body == "The driver fix shipped."


# --- Not visible -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("write/", {"summary": "x"}),
        ("steer/", {"due_on": "2030-01-01"}),
        ("factors/", {"text": "x"}),
        ("pins/", {"entry": "1"}),
        ("meeting/", {"at": "2030-01-01T10:00", "minutes": "60"}),
        ("state/", {"state": "in_review"}),
        ("publish/", {"public_postmortem": ""}),
        ("amend/", {"body": "x"}),
    ],
)
def test_every_form_of_a_restricted_review_is_a_404_to_an_outsider(client, path, data):
    member = UserFactory()
    incident = incident_declare(
        title="Credential leak", severity=3, declared_by=member, is_security=True, rollback_considered="No"
    )
    incident_change_status(incident=incident, status="resolved", by=member)
    review_start(incident=incident, by=member)
    before = database()
    client.force_login(UserFactory())
    response = client.post(f"/incidents/{incident.number}/review/{path}", data)
    assert response.status_code == 404
    assert "Credential leak" not in response.content.decode()
    assert database() == before
