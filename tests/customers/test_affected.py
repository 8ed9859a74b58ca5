"""Affected customers: derived from the incident's services and components, and edited by hand."""

import pytest

from customers import selectors
from customers.services import CustomerError, NotAllowed, affected_add, affected_remove, customer_create
from incidents.models import TimelineEntry
from incidents.services import incident_edit_details
from tests.factories import UserFactory


def _names(incident) -> list[str]:
    return [a.customer.name for a in selectors.affected_customers(incident).active]


def test_the_list_follows_the_incidents_services_and_components(
    sev1, commander, acme, globex, initech, search, api_component
):
    assert _names(sev1) == ["Acme Corp", "Globex"]  # Checkout
    incident_edit_details(
        incident=sev1, by=commander, title=sev1.title, summary="", services=[search], components=[]
    )
    assert _names(sev1) == ["Globex", "Initech"]  # Search
    incident_edit_details(
        incident=sev1, by=commander, title=sev1.title, summary="", services=[], components=[api_component]
    )
    assert _names(sev1) == ["Initech"]  # the Public API component


def test_the_liaison_adds_and_removes_customers_and_a_removed_one_stays_off(sev1, liaison, acme, initech):
    affected_add(incident=sev1, customer=initech, by=liaison)
    assert _names(sev1) == ["Acme Corp", "Initech"]
    affected_remove(incident=sev1, customer=acme, by=liaison, reason="Acme runs on the US region only")
    assert _names(sev1) == ["Initech"]
    listing = selectors.affected_customers(sev1)
    assert [(a.customer.name, a.row.removed_reason) for a in listing.removed] == [
        ("Acme Corp", "Acme runs on the US region only")
    ]
    entries = sev1.timeline.filter(kind=TimelineEntry.Kind.CUSTOMER).order_by("pk")
    assert [e.data["customer_event"] for e in entries] == ["added", "removed"]
    # Put back by hand.
    affected_add(incident=sev1, customer=acme, by=liaison)
    assert _names(sev1) == ["Acme Corp", "Initech"]


def test_it_refuses_what_makes_no_sense(sev1, liaison, acme, initech):
    with pytest.raises(CustomerError, match="on the list already"):
        affected_add(incident=sev1, customer=acme, by=liaison)
    with pytest.raises(CustomerError, match="not on the list"):
        affected_remove(incident=sev1, customer=initech, by=liaison, reason="x")
    with pytest.raises(CustomerError, match="Say why"):
        affected_remove(incident=sev1, customer=acme, by=liaison, reason="  ")


def test_only_those_who_speak_to_customers_change_the_list(sev1, initech):
    with pytest.raises(NotAllowed):
        affected_add(incident=sev1, customer=initech, by=UserFactory())


def test_the_on_call_responder_of_a_small_incident_may(checkout, acme):
    from roles.services import role_assign
    from tests.factories import IncidentFactory

    person = UserFactory()
    incident = IncidentFactory(declared_by=person, severity=4, services=[checkout])
    role_assign(incident=incident, role="on_call", user=person, by=person)
    other = customer_create(name="Umbrella")
    affected_add(incident=incident, customer=other, by=person)
    assert _names(incident) == ["Acme Corp", "Umbrella"]
