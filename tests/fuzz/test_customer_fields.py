"""Hypothesis against the customers forms and API fields (the room's panels, records, imports): the answer
is a 4xx or a success, never a 5xx, and a 4xx writes nothing (tests/fuzz/test_every_field.py's rules)."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from customers.models import AffectedCustomer, Contact, Customer, CustomerMessage, DirectUpdate
from customers.services import customer_create
from roles.services import role_assign
from tests.api.conftest import TokenClient
from tests.factories import IncidentFactory, UserFactory
from tests.fuzz.test_every_field import FUZZ, Raw, form_text, mutated, raw_body, wire_values
from tests.fuzz.test_every_field import snapshot as incident_snapshot

pytestmark = pytest.mark.django_db

MODELS = [Customer, Contact, AffectedCustomer, DirectUpdate, CustomerMessage]


def snapshot() -> tuple:
    return (
        incident_snapshot(),
        tuple(model.objects.count() for model in MODELS),
        tuple(AffectedCustomer.objects.order_by("pk").values_list("call_state", "removed_at")),
    )


def check(response, before) -> None:
    assert response.status_code < 500, (response.status_code, response.content[:500])
    if 400 <= response.status_code < 500:
        assert snapshot() == before, f"a {response.status_code} wrote something: {response.content[:300]!r}"


@pytest.fixture
def world(client, settings):
    from roles.models import Service

    admin = UserFactory(is_staff=True, is_superuser=True, username="fuzz-admin")
    checkout = Service.objects.create(name="Checkout")
    acme = customer_create(
        name="Acme",
        services=[checkout],
        contacts=[{"name": "Jane", "email": "jane@acme.example", "alternate_email": "jane@mail.example"}],
    )
    incident = IncidentFactory(declared_by=admin, title="Checkout fails", services=[checkout])
    role_assign(incident=incident, role="customer_liaison", user=admin, by=None)
    client.force_login(admin)
    client.raise_request_exception = True
    return {"client": client, "api": TokenClient(admin), "incident": incident, "acme": acme}


def post_form(world, url, data):
    before = snapshot()
    check(world["client"].post(url, data, headers={"HX-Request": "true"}), before)


def send_json(world, url, data):
    before = snapshot()
    body = data if isinstance(data, Raw) else json.dumps(data)
    response = world["api"].post(url, body, content_type="application/json")
    check(response, before)
    if response.status_code >= 400:
        assert set(response.json()) == {"detail", "code", "errors"}, response.content[:300]


@FUZZ
@given(
    data=mutated(
        {"to": "all", "customers": "@acme", "subject": "Hi", "text": "Hello {customer}", "eta_in": "120"},
        form_text,
    )
)
def test_the_direct_update_form(world, data):
    data = {k: world["acme"].pk if v == "@acme" else v for k, v in data.items()}
    post_form(world, f"/incidents/{world['incident'].number}/customers/update/", data)


@FUZZ
@given(
    which=st.sampled_from(["calls", "remove", "add", "eta", "follow-ups"]),
    data=mutated(
        {"customer": "@acme", "outcome": "called", "note": "ok", "reason": "US only", "eta_in": "60"},
        form_text,
    ),
)
def test_the_panels_small_forms(world, which, data):
    data = {k: world["acme"].pk if v == "@acme" else v for k, v in data.items()}
    post_form(world, f"/incidents/{world['incident'].number}/customers/{which}/", data)


@FUZZ
@given(
    data=st.one_of(
        mutated(
            {
                "name": "Globex",
                "services": ["Checkout"],
                "notes": "",
                "contacts": [{"name": "Hank", "email": "hank@globex.example", "phone": "+1 555 0199"}],
            },
            wire_values,
        ),
        raw_body,
    )
)
def test_the_api_customer_create(world, data):
    send_json(world, "/api/v1/customers/", data)


@FUZZ
@given(
    data=st.one_of(
        mutated({"csv": "customer,contact,email\nGlobex,Hank,hank@globex.example\n"}, wire_values),
        st.builds(
            lambda cell: {"csv": f"customer,contact,email\n{cell},Hank,hank@globex.example\n"}, form_text
        ),
        raw_body,
    )
)
def test_the_api_import(world, data):
    send_json(world, "/api/v1/customers/import/", data)


@FUZZ
@given(
    data=st.one_of(
        mutated(
            {"text": "Hello", "customers": ["@acme"], "eta": None, "confirm_restricted": False}, wire_values
        ),
        raw_body,
    )
)
def test_the_api_direct_update(world, data):
    if isinstance(data, dict) and data.get("customers") == ["@acme"]:
        data = {**data, "customers": [world["acme"].pk]}
    send_json(world, f"/api/v1/incidents/{world['incident'].pk}/customers/updates/", data)
