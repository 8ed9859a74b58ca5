"""`/incident ack`: acknowledging a page from Slack stops the person's remaining notification steps."""

import pytest
from django.core import mail

from comms.services import contact_method_add
from roles.models import Page, PageNotification, Urgency
from roles.services import page_send
from roles.services.notification_rules import notification_rule_add
from tests.api.slack import SECRET, linked_person, slack
from tests.factories import IncidentFactory


@pytest.fixture(autouse=True)
def signing_secret(settings):
    settings.SLACK_SIGNING_SECRET = SECRET


@pytest.fixture
def alice(db):
    return linked_person(
        "alice", "U0ALICE", first_name="Alice", last_name="Oncall", email="alice@example.com"
    )


def test_ack_from_slack_stops_the_remaining_steps(client, alice):
    phone = contact_method_add(user=alice, label="Phone", url="pover://ukey@apptoken")
    notification_rule_add(user=alice, by=alice, urgency=Urgency.MAJOR, delay_minutes=1, contact_method=phone)
    notification_rule_add(user=alice, by=alice, urgency=Urgency.MAJOR, delay_minutes=5)
    incident = IncidentFactory(severity=2)
    page = page_send(incident=incident, by=None, person=alice)
    assert list(page.notifications.values_list("state", flat=True)) == ["scheduled", "scheduled"]

    answer = slack(client, f"ack {incident.reference}").json()
    assert answer["text"] == f"{incident.reference}: Alice Oncall acknowledged the page."
    page.refresh_from_db()
    assert page.status == Page.Status.ACKNOWLEDGED and page.acknowledged_by == alice
    assert set(page.notifications.values_list("state", flat=True)) == {PageNotification.State.STOPPED}
    assert mail.outbox == []

    again = slack(client, f"ack {incident.reference}").json()
    assert again["text"] == f"{incident.reference}: no page is waiting for you to acknowledge."


def test_ack_answers_when_no_page_waits(client, alice):
    incident = IncidentFactory(declared_by=alice)
    answer = slack(client, f"ack {incident.reference}").json()
    assert "no page is waiting for you" in answer["text"]
