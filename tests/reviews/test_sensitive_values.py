"""A change marked sensitive never leaves the portal unmasked: not in an e-mail or any other
message about the incident, nor in the review's record, page, print view or export."""

import json

import pytest
from django.core import mail
from django.test import Client

from accounts.services import api_token_issue
from comms.models import Message
from incidents.models import Incident
from incidents.services import incident_change_status
from incidents.services.tools import MASKED, change_record, change_restore
from reviews.models import Review
from reviews.record import review_record
from reviews.services import review_publish, review_write
from roles.models import Team
from roles.selectors import executive_summary_draft
from roles.services import executive_summary_send, page_send
from tests.factories import UserFactory
from tests.reviews.helpers import worked_sev1

pytestmark = pytest.mark.django_db

OLD_SECRET = "sk_live_OLD_4f9a2c"
NEW_SECRET = "sk_live_NEW_81bd3e"


@pytest.fixture
def worked():
    """A worked SEV-1 where the expert rotated a key, marked sensitive, and restored it once."""
    Team.objects.create(name="SEV-1 Stakeholders", stakeholder_for=[1]).members.add(
        UserFactory(first_name="Erin", last_name="Exec", email="erin@example.com")
    )
    worked = worked_sev1(resolve=False)
    incident, ic, sme = worked["incident"], worked["ic"], worked["sme"]
    # A first summary, so that the next one's draft lists what came after it: the key.
    executive_summary_send(incident=incident, by=ic, body=executive_summary_draft(incident)[0])
    change = change_record(
        incident=incident,
        by=sme,
        what="STRIPE_KEY",
        where="checkout env",
        old_value=OLD_SECRET,
        new_value=NEW_SECRET,
        is_sensitive=True,
    )
    change_restore(change=change, by=sme)
    again = change_record(
        incident=incident,
        by=sme,
        what="STRIPE_KEY",
        where="checkout env",
        old_value=OLD_SECRET,
        new_value=NEW_SECRET,
        is_sensitive=True,
    )
    worked["change"] = again
    return worked


def _secret_in(text: str) -> bool:
    return OLD_SECRET in text or NEW_SECRET in text


def test_no_message_about_the_incident_carries_a_sensitive_value(worked, django_capture_on_commit_callbacks):
    incident, ic = worked["incident"], worked["ic"]
    # The summary drafted now tells of the change, a page is sent, the incident resolves
    # (keeping the change), and the review is published: every message the incident makes,
    # delivered (e-mail) once each commits.
    draft, _next = executive_summary_draft(incident)
    assert "STRIPE_KEY" in draft and not _secret_in(draft)
    with django_capture_on_commit_callbacks(execute=True):
        executive_summary_send(incident=incident, by=ic, body=draft)
    with django_capture_on_commit_callbacks(execute=True):
        page_send(incident=incident, by=ic, person=UserFactory(email="oncall@example.com"), message="Join")
    with django_capture_on_commit_callbacks(execute=True):
        incident_change_status(
            incident=incident,
            status=Incident.Status.RESOLVED,
            by=ic,
            settle_changes={c.pk: "keep" for c in incident.changes.filter(state="in_place")},
        )
    review = Review.objects.get(incident=incident)
    review_write(review=review, by=ic, sections={"summary": "A key was rotated and kept."})
    with django_capture_on_commit_callbacks(execute=True):
        review_publish(review=review, by=ic)

    messages = list(Message.objects.all())
    assert any("STRIPE_KEY" in m.body for m in messages)  # the change reached a message...
    for message in messages:  # ...but no value of it did, in its text or its context
        assert not _secret_in(message.subject + message.body), message.kind
        assert not _secret_in(json.dumps(message.context, default=str)), message.kind
    assert mail.outbox, "the e-mails were sent"
    assert any("STRIPE_KEY" in email.body for email in mail.outbox)
    for email in mail.outbox:
        texts = [email.subject, email.body, *(content for content, _type in email.alternatives)]
        assert not any(_secret_in(text) for text in texts), email.subject


@pytest.fixture
def reviewed(worked):
    incident, ic = worked["incident"], worked["ic"]
    incident_change_status(
        incident=incident,
        status=Incident.Status.RESOLVED,
        by=ic,
        settle_changes={c.pk: "keep" for c in incident.changes.filter(state="in_place")},
    )
    review = Review.objects.get(incident=incident)
    review_write(review=review, by=ic, sections={"summary": "A key was rotated and kept."})
    return worked, review


def _sensitive_rows(record: dict) -> list[dict]:
    return [c for c in record["changes"] if c["what"] == "STRIPE_KEY"]


def test_the_review_record_and_its_export_mask_a_sensitive_value(reviewed):
    worked, review = reviewed
    incident, ic, sme = worked["incident"], worked["ic"], worked["sme"]
    record = review_record(incident, review)
    rows = _sensitive_rows(record)
    assert len(rows) == 3  # the change, its restore and the change again
    assert all(r["sensitive"] and (r["old_value"], r["new_value"]) == (MASKED, MASKED) for r in rows)
    assert not _secret_in(json.dumps(record, default=str))
    # The plain change next to it keeps its values: the mask is for sensitive ones only.
    plain = next(c for c in record["changes"] if c["what"] == "DB_POOL_SIZE")
    assert (plain["old_value"], plain["new_value"]) == ("20", "80")

    # Even for the one who recorded it: a review is read by many, and exported.
    for person in (ic, sme):
        client = Client()
        client.force_login(person)
        for url in (
            f"/incidents/{incident.number}/review/",
            f"/incidents/{incident.number}/review/print/",
            f"/incidents/{incident.number}/review/export.md",
        ):
            response = client.get(url)
            assert response.status_code == 200, url
            text = response.content.decode()
            assert "STRIPE_KEY" in text and not _secret_in(text), url
        export = client.get(f"/incidents/{incident.number}/review/export.md").content.decode()
        assert f"| {MASKED} | {MASKED} |" in export

    _row, raw = api_token_issue(user=sme, name="test")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    answer = api.get(f"/api/v1/incidents/{incident.pk}/review/")
    assert answer.status_code == 200 and len(_sensitive_rows(answer.json()["record"])) == 3
    assert not _secret_in(answer.content.decode())
    export = api.get(f"/api/v1/incidents/{incident.pk}/review/export/")
    assert export.status_code == 200 and "STRIPE_KEY" in export.json()["markdown"]
    assert not _secret_in(export.content.decode())

    # The record frozen at publishing is masked too.
    review_publish(review=review, by=ic)
    review.refresh_from_db()
    assert len(_sensitive_rows(review.published_record)) == 3
    assert not _secret_in(json.dumps(review.published_record, default=str))
    published = api.get(f"/api/v1/incidents/{incident.pk}/review/export/")
    assert not _secret_in(published.content.decode())
