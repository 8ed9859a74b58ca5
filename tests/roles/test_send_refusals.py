"""One unusable address does not keep a page from its person: what the outbox refuses is recorded."""

import pytest
from django.core import mail

from comms.models import Channel, Delivery, Message
from comms.selectors import email_channel
from roles.services import page_send
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_bad_address_is_a_dead_message_and_the_page_still_rings_the_bell(
    django_capture_on_commit_callbacks,
):
    ic = UserFactory()
    incident = IncidentFactory(declared_by=ic)
    person = UserFactory(email="not-an-address")

    with django_capture_on_commit_callbacks(execute=True):
        page = page_send(incident=incident, by=ic, person=person, message="Help")

    assert list(page.notified.all()) == [person]
    refused = Message.objects.get(kind="page", context__has_key="refused")
    assert refused.incident == incident
    dead = refused.deliveries.get()
    assert dead.state == Delivery.State.DEAD and dead.address == "not-an-address"
    assert "not a valid e-mail address" in dead.last_error
    sent = Message.objects.filter(kind="page").exclude(pk=refused.pk).get()
    assert list(sent.deliveries.values_list("user", "channel__kind", "state")) == [
        (person.pk, "in_app", "sent")
    ]
    assert mail.outbox == []


def test_with_e_mail_switched_off_the_bell_still_rings_and_the_outbox_says_why(
    django_capture_on_commit_callbacks,
):
    ic = UserFactory()
    incident = IncidentFactory(declared_by=ic)
    person = UserFactory(email="ann@example.com")
    Channel.objects.filter(pk=email_channel().pk).update(is_active=False)

    with django_capture_on_commit_callbacks(execute=True):
        page_send(incident=incident, by=ic, person=person, message="Help")

    assert Delivery.objects.filter(user=person, channel__kind="in_app", state="sent").count() == 1
    dead = Delivery.objects.get(message__context__has_key="refused")
    assert dead.address == "ann@example.com" and "switched off" in dead.last_error
