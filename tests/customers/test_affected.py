"""Affected customers: derived from the incident's services and components, and edited by hand."""

import re

import pytest

from customers import selectors
from customers.models import AffectedCustomer
from customers.services import CustomerError, NotAllowed, affected_add, affected_remove, customer_create
from incidents.models import TimelineEntry
from incidents.services import incident_edit_details
from tests.factories import IncidentFactory, UserFactory


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


# --- Adding a customer from the room ---------------------------------------------------------------

HX = {"HX-Request": "true"}


def _addable(html: str) -> dict[str, str]:
    """The add form's choices in the panel: name -> value."""
    form = re.search(r'<form[^>]*class="row add-customer".*?</form>', html, re.S)
    if form is None:
        return {}
    return {name: value for value, name in re.findall(r'<option value="([^"]*)">([^<]*)</option>', form[0])}


def _written(incident) -> tuple[int, int]:
    return (
        AffectedCustomer.objects.filter(incident=incident).count(),
        incident.timeline.filter(kind=TimelineEntry.Kind.CUSTOMER).count(),
    )


def test_the_liaison_adds_a_customer_from_the_room(client, sev1, liaison, acme, initech):
    client.force_login(liaison)
    panel = client.get(f"/incidents/{sev1.number}/customers/", headers=HX).content.decode()
    choices = _addable(panel)
    assert "Initech" in choices and "Acme Corp" not in choices  # Acme is on the list already
    assert "Peter Gibbons" not in panel

    response = client.post(
        f"/incidents/{sev1.number}/customers/add/", {"customer": choices["Initech"]}, headers=HX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Initech" in html and "Peter Gibbons" in html and "+1 555 0142" in html
    assert "Initech" not in _addable(html)
    row = AffectedCustomer.objects.get(incident=sev1, customer=initech)
    assert row.origin == AffectedCustomer.Origin.ADDED and row.added_by == liaison and row.removed_at is None
    entry = sev1.timeline.get(kind=TimelineEntry.Kind.CUSTOMER)
    assert entry.body == "Initech added to the affected customers." and entry.author == liaison
    assert [c.customer for c in selectors.affected_customers(sev1).active] == [acme, initech]


def test_without_htmx_the_add_answers_with_the_room(client, sev1, liaison, initech):
    client.force_login(liaison)
    response = client.post(f"/incidents/{sev1.number}/customers/add/", {"customer": initech.pk})
    assert response.status_code == 302 and response["Location"] == sev1.get_absolute_url()
    assert AffectedCustomer.objects.filter(incident=sev1, customer=initech).exists()


@pytest.mark.parametrize(
    "value, says",
    [
        ("999999", "There is no such customer."),
        ("not-a-number", "Enter a whole number."),
        ("", "This field is required."),
    ],
)
def test_a_bad_customer_is_refused_with_the_reason_and_nothing_written(
    client, sev1, liaison, initech, value, says
):
    client.force_login(liaison)
    before = _written(sev1)
    response = client.post(f"/incidents/{sev1.number}/customers/add/", {"customer": value}, headers=HX)
    assert response.status_code == 422
    assert says in response.content.decode()
    assert _written(sev1) == before


def test_a_customer_on_the_list_already_is_refused(client, sev1, liaison, acme):
    client.force_login(liaison)
    response = client.post(f"/incidents/{sev1.number}/customers/add/", {"customer": acme.pk}, headers=HX)
    assert response.status_code == 422 and "on the list already" in response.content.decode()
    assert _written(sev1) == (0, 0)


def test_someone_who_does_not_speak_to_customers_cannot_add_one(client, sev1, initech):
    client.force_login(UserFactory())
    response = client.post(f"/incidents/{sev1.number}/customers/add/", {"customer": initech.pk}, headers=HX)
    assert response.status_code == 422
    assert "The customer liaison" in response.content.decode()
    assert _written(sev1) == (0, 0)
    assert "Initech" not in client.get(f"/incidents/{sev1.number}/customers/", headers=HX).content.decode()


def test_an_outsider_cannot_add_to_a_restricted_incident(client, commander, initech, checkout):
    incident = IncidentFactory(declared_by=commander, severity=2, is_security=True, services=[checkout])
    client.force_login(UserFactory())
    url = f"/incidents/{incident.number}/customers/add/"
    response = client.post(url, {"customer": initech.pk}, headers=HX)
    assert response.status_code == 404
    assert _written(incident) == (0, 0)
