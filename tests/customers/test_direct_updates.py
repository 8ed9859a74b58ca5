"""Direct updates from the room: one message per customer through the outbox, both addresses of every
contact for a major incident, the status, what is affected, the ETA and where to join in each."""

from datetime import timedelta

import pytest
from django.utils import timezone

from comms.models import Delivery, Message
from customers import selectors
from customers.models import AffectedCustomer, Contact, CustomerMessage, DirectUpdate
from customers.services import CustomerError, NotAllowed, direct_update_send
from incidents.models import TimelineEntry
from incidents.services import IncidentError, incident_set_eta
from incidents.services.tools import incident_set_contacts
from roles.services import role_assign
from tests.factories import IncidentFactory, UserFactory


def _send(incident, by, django_capture_on_commit_callbacks, **kwargs):
    kwargs.setdefault("text", "Hello {customer}, we are looking into {affected}. ETA: {eta}.")
    with django_capture_on_commit_callbacks(execute=True):
        return direct_update_send(incident=incident, by=by, **kwargs)


def test_a_major_incident_reaches_both_addresses_of_every_contact(
    sev1, liaison, acme, globex, initech, smtp, django_capture_on_commit_callbacks
):
    incident_set_contacts(
        incident=sev1,
        by=liaison,
        bridge_url="https://meet.example.com/inc",
        chat_channel="#inc-checkout",
        dashboards="Payments https://grafana.example.com/d/payments",
        runbooks="Checkout https://wiki.example.com/runbooks/checkout",
    )
    eta = timezone.now() + timedelta(hours=2)
    update = _send(sev1, liaison, django_capture_on_commit_callbacks, eta=eta)

    # Initech uses Search only: not affected by a Checkout incident, so not told.
    assert sorted(cm.affected.customer.name for cm in update.customer_messages.all()) == [
        "Acme Corp",
        "Globex",
    ]
    received = {r: m for m in smtp.received for r in m.recipients}
    assert set(received) == {
        "jane@acme.example",
        "jane.roe@mail.example",
        "raj@acme.example",
        "raj@backup.example",
        "hank@globex.example",
        "hank@volcano.example",
    }
    acme_mail = received["jane.roe@mail.example"].text
    assert "Hello Acme Corp, we are looking into Checkout." in acme_mail
    assert "Status: Investigating" in acme_mail
    assert "Affected: Checkout" in acme_mail
    assert "Estimated time to fix:" in acme_mail and "(in about 2 hours)" in acme_mail
    assert "https://meet.example.com/inc" in acme_mail and "#inc-checkout" in acme_mail
    # Where to join is the call and the chat; the team's dashboards and runbooks are not for customers.
    assert "grafana.example.com" not in acme_mail and "wiki.example.com" not in acme_mail
    assert "Hello Globex" in received["hank@volcano.example"].text
    assert "Acme" not in received["hank@volcano.example"].text  # each customer gets its own message
    assert Delivery.objects.filter(message__kind=Message.Kind.CUSTOMER_UPDATE, state="sent").count() == 6

    # The ETA is the incident's now, on the timeline with its previous value.
    sev1.refresh_from_db()
    assert sev1.eta == eta
    eta_entry = sev1.timeline.get(kind=TimelineEntry.Kind.ETA)
    assert eta_entry.data["previous"] is None and eta_entry.data["eta"] == eta.isoformat()
    entry = sev1.timeline.get(kind=TimelineEntry.Kind.CUSTOMER)
    assert entry.data["customer_event"] == "update" and "Acme Corp" in entry.body

    # Listed per customer in the room: every address delivered.
    listing = selectors.affected_customers(sev1)
    assert {a.customer.name: a.delivery_summary for a in listing.active} == {
        "Acme Corp": {"delivered": 4},
        "Globex": {"delivered": 2},
    }


def test_a_minor_incident_goes_to_each_contacts_preferred_address(
    sev3, liaison, acme, globex, smtp, django_capture_on_commit_callbacks
):
    _send(sev3, liaison, django_capture_on_commit_callbacks)
    assert sorted(r for m in smtp.received for r in m.recipients) == [
        "hank@volcano.example",  # Hank prefers his alternate address
        "jane@acme.example",
        "raj@acme.example",
    ]


def test_it_sends_to_the_chosen_customers_only(
    sev1, liaison, acme, globex, smtp, django_capture_on_commit_callbacks
):
    _send(sev1, liaison, django_capture_on_commit_callbacks, customer_ids=[globex.pk])
    assert {r for m in smtp.received for r in m.recipients} == {"hank@globex.example", "hank@volcano.example"}


def test_the_move_of_an_eta_keeps_the_previous_value(sev1, liaison):
    first = timezone.now() + timedelta(minutes=40)
    second = timezone.now() + timedelta(hours=3)
    incident_set_eta(incident=sev1, by=liaison, eta=first)
    incident_set_eta(incident=sev1, by=liaison, eta=second, reason="The rollback is slower than hoped")
    entries = list(sev1.timeline.filter(kind=TimelineEntry.Kind.ETA).order_by("pk"))
    assert [e.data["previous"] for e in entries] == [None, first.isoformat()]
    assert entries[1].data["eta"] == second.isoformat()
    assert "was" in entries[1].body and "slower than hoped" in entries[1].body
    with pytest.raises(IncidentError, match="in the future"):
        incident_set_eta(incident=sev1, by=liaison, eta=timezone.now() - timedelta(minutes=1))


def test_a_customer_without_an_email_refuses_the_whole_send(sev1, liaison, acme, checkout):
    from customers.services import customer_create

    customer_create(name="Nocontact Ltd", services=[checkout])
    with pytest.raises(CustomerError, match="Nocontact Ltd has no contact with an e-mail"):
        direct_update_send(incident=sev1, by=liaison, text="Hello")
    assert not Message.objects.filter(kind=Message.Kind.CUSTOMER_UPDATE).exists()
    assert not DirectUpdate.objects.exists() and not AffectedCustomer.objects.exists()


def test_a_security_incident_sends_nothing_without_the_explicit_confirmation(
    commander, acme, checkout, smtp, django_capture_on_commit_callbacks
):
    incident = IncidentFactory(
        declared_by=commander, severity=2, is_security=True, services=[checkout], rollback_considered="No"
    )
    role_assign(incident=incident, role="incident_commander", user=commander, by=None)
    with pytest.raises(CustomerError, match="security incident"):
        direct_update_send(incident=incident, by=commander, text="Hello")
    assert not Message.objects.filter(kind=Message.Kind.CUSTOMER_UPDATE).exists()
    _send(incident, commander, django_capture_on_commit_callbacks, confirm_restricted=True)
    assert len(smtp.received) == 4
    assert DirectUpdate.objects.get().restricted_confirmed


def test_only_the_liaison_the_ic_the_deputy_and_admins_send(sev1, acme, admin_user):
    sme = UserFactory()
    with pytest.raises(NotAllowed):
        direct_update_send(incident=sev1, by=sme, text="Hello")
    direct_update_send(incident=sev1, by=admin_user, text="Hello")
    assert CustomerMessage.objects.count() == 1


def test_a_failed_address_shows_as_failed_for_its_customer(
    sev1, liaison, acme, smtp, django_capture_on_commit_callbacks
):
    # The local SMTP sink refuses addresses starting with "bounce" for good (550).
    Contact.objects.filter(email="raj@acme.example").update(alternate_email="bounce@backup.example")
    _send(sev1, liaison, django_capture_on_commit_callbacks)
    item = selectors.affected_customers(sev1).active[0]
    assert item.delivery_summary == {"delivered": 3, "failed": 1}
    failed = [d for d in item.deliveries if d[1] == "failed"]
    assert failed[0][0] == "bounce@backup.example" and "550" in failed[0][2]


def test_the_text_cannot_be_empty_and_nothing_is_written(sev1, liaison, acme):
    with pytest.raises(CustomerError, match="Write what to tell"):
        direct_update_send(incident=sev1, by=liaison, text="   ")
    assert not sev1.timeline.filter(kind=TimelineEntry.Kind.CUSTOMER).exists()


def test_where_to_join_for_customers_adds_the_status_page_once_published(admin_user):
    from django.conf import settings

    from customers.services.updates import join_block
    from statuspage.models import PublicIncident
    from statuspage.services import statuspage_publish_update

    incident = IncidentFactory(severity=1)
    incident_set_contacts(incident=incident, by=admin_user, bridge_url="https://meet.example.com/inc")
    incident.refresh_from_db()
    assert join_block(incident) == "**Where to join:** call: https://meet.example.com/inc"
    statuspage_publish_update(
        incident=incident, by=admin_user, title="Checkout errors", status="investigating", body="Looking."
    )
    incident.refresh_from_db()
    link = f"{settings.SITE_URL}/status/incidents/{PublicIncident.objects.get().public_id}"
    call = "https://meet.example.com/inc"
    assert join_block(incident) == f"**Where to join:** call: {call} · status page: {link}"
