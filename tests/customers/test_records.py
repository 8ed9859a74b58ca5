"""Customer records: the contact's rules, CSV import (all or nothing), the admin's import page, the API."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.models import Contact, Customer
from customers.services import CustomerError, contact_create, customer_create, customers_import_csv
from tests.api.conftest import TokenClient, assert_error
from tests.factories import UserFactory

CSV = """customer,contact,email,alternate_email,phone,preferred_channel,services,components
Acme Corp,Jane Roe,jane@acme.example,jane.roe@mail.example,+1 555 0100,phone,Checkout,Public API
Acme Corp,Raj Patel,raj@acme.example,,,E-mail,Search,
Globex,Hank Scorpio,hank@globex.example,hank@volcano.example,+1 555 0199,alternate_email,Checkout;Search,
"""


def test_the_alternate_address_is_on_another_domain(db):
    customer = customer_create(name="Acme Corp")
    with pytest.raises(CustomerError, match="another domain"):
        contact_create(
            customer=customer, name="Jane", email="jane@acme.example", alternate_email="j@acme.example"
        )
    with pytest.raises(CustomerError, match="needs a phone number"):
        contact_create(customer=customer, name="Jane", email="jane@acme.example", preferred_channel="phone")
    with pytest.raises(CustomerError, match="phone number is digits"):
        contact_create(customer=customer, name="Jane", email="jane@acme.example", phone="call me maybe")
    contact = contact_create(
        customer=customer, name="Jane", email="Jane@ACME.example", alternate_email="jane@mail.example"
    )
    assert contact.email == "jane@acme.example"
    with pytest.raises(CustomerError, match="already exists"):
        contact_create(customer=customer, name="Jane again", email="jane@acme.example")


def test_a_csv_import_adds_and_then_updates(checkout, search, api_component):
    result = customers_import_csv(text=CSV)
    assert (result.customers_created, result.contacts_created) == (2, 3)
    acme = Customer.objects.get(name="Acme Corp")
    assert sorted(s.name for s in acme.services.all()) == ["Checkout", "Search"]
    assert [c.name for c in acme.components.all()] == ["Public API"]
    hank = Contact.objects.get(email="hank@globex.example")
    assert hank.preferred_channel == "alternate_email" and hank.alternate_email == "hank@volcano.example"

    again = customers_import_csv(text=CSV.replace("+1 555 0100", "+1 555 0111"))
    assert (again.customers_created, again.customers_updated, again.contacts_updated) == (0, 2, 3)
    assert Contact.objects.get(email="jane@acme.example").phone == "+1 555 0111"
    assert Contact.objects.count() == 3


def test_a_csv_with_a_bad_line_imports_nothing_and_says_which_lines(checkout):
    bad = CSV + "Initech,Peter,peter@initech.example,peter@initech.example,,,,\n"
    bad += "Umbrella,Alice,not-an-address,,,,Nope,\n"
    with pytest.raises(CustomerError) as refused:
        customers_import_csv(text=bad)
    message = str(refused.value)
    assert message.startswith("Nothing was imported.")
    assert "Line 2: there is no component called 'Public API'" in message
    assert "Line 5:" in message and "another address" in message
    assert "Line 6:" in message
    assert not Customer.objects.exists() and not Contact.objects.exists()


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "empty"),
        ("name,email\nAcme,a@b.example\n", "Missing: customer, contact"),
        ("customer,contact,email\nAcme,Jane,jane@acme.example,extra\n", "more cells than columns"),
        ("customer,contact,email\nAcme,Jane,a\x00b@x.example\n", "NUL"),
    ],
)
def test_a_csv_that_is_not_what_it_should_be_is_refused(db, text, reason):
    with pytest.raises(CustomerError, match=reason):
        customers_import_csv(text=text)
    assert not Customer.objects.exists()


def test_the_admin_imports_a_csv_file(client, admin_user, checkout, search, api_component):
    client.force_login(admin_user)
    page = client.get("/admin/customers/customer/")
    assert "Import from CSV" in page.content.decode()
    upload = SimpleUploadedFile("customers.csv", CSV.encode(), content_type="text/csv")
    response = client.post("/admin/customers/customer/import/", {"file": upload}, follow=True)
    assert "Imported: 2 customers added" in response.content.decode()
    assert Customer.objects.count() == 2
    bad = SimpleUploadedFile("customers.csv", b"customer,contact,email\nAcme,Jane,nope\n")
    response = client.post("/admin/customers/customer/import/", {"file": bad})
    assert response.status_code == 200 and "Nothing was imported" in response.content.decode()


def test_staff_without_the_permission_cannot_import(client, checkout):
    client.force_login(UserFactory(is_staff=True))
    assert client.get("/admin/customers/customer/import/").status_code == 403


# --- API ----------------------------------------------------------------------------------


def test_the_api_writes_customers_and_contacts_for_admins(admin_user, checkout, search, api_component):
    api = TokenClient(admin_user)
    response = api.post(
        "/api/v1/customers/",
        {
            "name": "Acme Corp",
            "services": ["Checkout"],
            "components": [api_component.public_id],
            "contacts": [
                {"name": "Jane Roe", "email": "jane@acme.example", "alternate_email": "jane@mail.example"}
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["services"] == ["Checkout"] and body["components"] == [api_component.public_id]
    assert body["contacts"][0]["alternate_email"] == "jane@mail.example"
    customer_id = body["id"]

    contact = api.post(
        f"/api/v1/customers/{customer_id}/contacts/",
        {"name": "Raj", "email": "raj@acme.example", "phone": "+1 555 0101", "preferred_channel": "phone"},
        format="json",
    )
    assert contact.status_code == 201
    patched = api.patch(
        f"/api/v1/customers/{customer_id}/contacts/{contact.json()['id']}/",
        {"alternate_email": "raj@acme.example.org"},
        format="json",
    )
    assert patched.status_code == 200 and patched.json()["alternate_email"] == "raj@acme.example.org"
    refused = api.patch(
        f"/api/v1/customers/{customer_id}/contacts/{contact.json()['id']}/",
        {"alternate_email": "raj2@acme.example"},
        format="json",
    )
    assert_error(refused, 400, "invalid")
    listing = api.get("/api/v1/customers/").json()
    assert listing["count"] == 1 and len(listing["results"][0]["contacts"]) == 2

    imported = api.post("/api/v1/customers/import/", {"csv": CSV}, format="json")
    assert imported.status_code == 200, imported.content
    assert imported.json() == {
        "customers_created": 1,
        "customers_updated": 1,
        "contacts_created": 1,  # Hank; Jane and Raj were there
        "contacts_updated": 2,
    }
    assert api.delete(f"/api/v1/customers/{customer_id}/").status_code == 204
    assert not Contact.objects.filter(customer_id=customer_id).exists()


def test_responders_read_customers_but_do_not_write_them(user, checkout):
    customer_create(name="Acme Corp")
    api = TokenClient(user)
    assert api.get("/api/v1/customers/").status_code == 200
    assert_error(api.post("/api/v1/customers/", {"name": "Globex"}, format="json"), 403)
    assert_error(api.post("/api/v1/customers/import/", {"csv": CSV}, format="json"), 403)
    assert not Customer.objects.filter(name="Globex").exists()


def test_the_api_needs_a_token(client, db):
    assert client.get("/api/v1/customers/").status_code == 401
