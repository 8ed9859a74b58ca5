"""A public title is one line and reaches every subscriber; those the outbox refuses are seen, not lost."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from comms.models import Channel, Delivery, Message
from comms.selectors import email_channel
from incidents.models import TimelineEntry
from statuspage import services, tasks
from statuspage.models import PublicIncident, Subscriber
from tests.api.conftest import TokenClient

pytestmark = pytest.mark.django_db


def subscribers(count: int) -> list[Subscriber]:
    return [
        Subscriber.objects.create(kind="email", email=f"s{i}@example.com", confirmed_at=timezone.now())
        for i in range(count)
    ]


@pytest.mark.parametrize("title", ["Checkout\nerrors", "Checkout\u2028errors", "Checkout\verrors"])
def test_a_public_title_with_a_line_break_reaches_every_subscriber(
    components, liaison, incident, publish, title
):
    subscribers(5)
    update = publish(incident=incident, by=liaison, title=title)
    assert PublicIncident.objects.get().name == "Checkout errors"
    assert Message.objects.filter(kind="public_update").count() == 5
    assert Delivery.objects.filter(message__kind="public_update", state="sent").count() == 5
    assert {m.subject for m in mail.outbox} == {"[Acme] Checkout errors: Investigating"}
    assert update.timeline_entry.data["title"] == "Checkout errors"


def test_the_api_publishes_a_one_line_title(
    components, liaison, incident, django_capture_on_commit_callbacks
):
    subscribers(2)
    with django_capture_on_commit_callbacks(execute=True):
        response = TokenClient(liaison).post(
            f"/api/v1/incidents/{incident.pk}/public-updates/",
            {"status": "investigating", "title": "Slow\u2028logins", "body": "Looking."},
            format="json",
        )
    assert response.status_code == 201 and response.json()["title"] == "Slow logins"
    assert len(mail.outbox) == 2


def test_subscribers_the_outbox_refuses_are_dead_messages_and_the_room_is_told(
    components, liaison, incident, publish, django_capture_on_commit_callbacks
):
    subscribers(3)
    Channel.objects.filter(pk=email_channel().pk).update(is_active=False)
    update = publish(incident=incident, by=liaison, title="Checkout errors")

    messages = Message.objects.filter(kind="public_update")
    assert messages.count() == 3
    deliveries = Delivery.objects.filter(message__in=messages)
    assert set(deliveries.values_list("state", flat=True)) == {"dead"}
    assert all("switched off" in d.last_error for d in deliveries)
    assert sorted(deliveries.values_list("address", flat=True)) == [f"s{i}@example.com" for i in range(3)]
    assert mail.outbox == []

    told = incident.timeline.filter(kind=TimelineEntry.Kind.PUBLIC_UPDATE, data__not_sent=3)
    assert told.count() == 1
    assert "could not be sent to 3 of 3 subscribers" in told.get().body
    assert "switched off" in told.get().body

    # The task runs again: no second record, no second entry in the room.
    with django_capture_on_commit_callbacks(execute=True):
        tasks.fan_out_update("incident", update.pk)
    assert Message.objects.filter(kind="public_update").count() == 3
    assert incident.timeline.filter(data__not_sent=3).count() == 1


def test_a_maintenance_name_is_one_line(components, django_capture_on_commit_callbacks):
    start = datetime.now(UTC) + timedelta(days=30)
    with django_capture_on_commit_callbacks(execute=True):
        maintenance = services.maintenance_schedule(
            name="Database\nupgrade\u2028tonight",
            scheduled_for=start,
            scheduled_until=start + timedelta(hours=2),
            components=[components["api"]],
            body="Slow API.",
            by=None,
        )
    assert maintenance.name == "Database upgrade tonight"
