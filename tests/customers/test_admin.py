"""Customers and their contacts are kept in the admin: added with the contact inline, changed,
and refused (nothing written) when a contact breaks a rule."""

from customers.models import Contact, Customer
from customers.services import customer_create
from tests.factories import UserFactory

ADD = "/admin/customers/customer/add/"


def _inline(contacts: list[dict], *, initial: int = 0) -> dict:
    data = {
        "contacts-TOTAL_FORMS": str(len(contacts)),
        "contacts-INITIAL_FORMS": str(initial),
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000",
    }
    for i, contact in enumerate(contacts):
        for key, value in contact.items():
            data[f"contacts-{i}-{key}"] = value
    return data


JANE = {
    "name": "Jane Roe",
    "email": "jane@acme.example",
    "alternate_email": "jane.roe@mail.example",
    "phone": "+1 555 0100",
    "preferred_channel": "phone",
}
RAJ = {
    "name": "Raj Patel",
    "email": "raj@acme.example",
    "alternate_email": "",
    "phone": "",
    "preferred_channel": "email",
}


def test_the_admin_adds_a_customer_with_its_contacts(client, admin_user, checkout, api_component):
    client.force_login(admin_user)
    page = client.get(ADD).content.decode()
    assert 'name="contacts-0-alternate_email"' in page  # the contact inline is on the add page
    data = {"name": "Acme Corp", "services": [checkout.pk], "components": [api_component.pk]}
    response = client.post(ADD, {**data, **_inline([JANE, RAJ])})
    assert response.status_code == 302, response.content.decode()[:3000]

    acme = Customer.objects.get(name="Acme Corp")
    assert list(acme.services.all()) == [checkout] and list(acme.components.all()) == [api_component]
    jane, raj = acme.contacts.order_by("name")
    assert (jane.email, jane.alternate_email, jane.phone, jane.preferred_channel) == (
        "jane@acme.example",
        "jane.roe@mail.example",
        "+1 555 0100",
        "phone",
    )
    assert raj.name == "Raj Patel" and raj.preferred_channel == "email"
    listing = client.get("/admin/customers/customer/").content.decode()
    assert "Acme Corp" in listing and "Checkout" in listing


def test_an_alternate_address_on_the_same_domain_is_refused_and_nothing_is_written(
    client, admin_user, checkout
):
    client.force_login(admin_user)
    same_domain = {**JANE, "alternate_email": "jane.backup@acme.example"}
    response = client.post(ADD, {"name": "Acme Corp", "services": [checkout.pk], **_inline([same_domain])})
    assert response.status_code == 200
    assert "on another domain than the primary one" in response.content.decode()
    assert not Customer.objects.exists() and not Contact.objects.exists()

    no_phone = {**RAJ, "preferred_channel": "phone"}
    response = client.post(ADD, {"name": "Acme Corp", **_inline([no_phone])})
    assert "needs a phone number" in response.content.decode()
    assert not Customer.objects.exists() and not Contact.objects.exists()


def test_the_admin_changes_a_customer_and_its_contacts(client, admin_user, checkout, search):
    acme = customer_create(
        name="Acme Corp",
        services=[checkout],
        contacts=[
            {"name": "Jane Roe", "email": "jane@acme.example"},
            {"name": "Old Contact", "email": "old@acme.example"},
        ],
    )
    jane, old = acme.contacts.order_by("name")
    client.force_login(admin_user)
    url = f"/admin/customers/customer/{acme.pk}/change/"
    assert "Old Contact" in client.get(url).content.decode()
    contacts = [
        {**JANE, "id": str(jane.pk), "customer": str(acme.pk)},  # gains an alternate address and a phone
        {
            "id": str(old.pk),
            "customer": str(acme.pk),
            "name": "Old Contact",
            "email": "old@acme.example",
            "preferred_channel": "email",
            "DELETE": "on",
        },
        {**RAJ, "customer": str(acme.pk)},  # a new one
    ]
    data = {"name": "Acme Corporation", "services": [checkout.pk, search.pk], **_inline(contacts, initial=2)}
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]

    acme.refresh_from_db()
    assert acme.name == "Acme Corporation"
    assert set(acme.services.all()) == {checkout, search}
    assert sorted(acme.contacts.values_list("name", flat=True)) == ["Jane Roe", "Raj Patel"]
    jane.refresh_from_db()
    assert (jane.alternate_email, jane.phone, jane.preferred_channel) == (
        "jane.roe@mail.example",
        "+1 555 0100",
        "phone",
    )


def test_people_who_are_not_admins_cannot_add_customers(client, db, checkout):
    for person in (UserFactory(), UserFactory(is_staff=True)):
        client.force_login(person)
        response = client.post(ADD, {"name": "Acme Corp", **_inline([JANE])})
        assert response.status_code in (302, 403)
    assert not Customer.objects.exists()
