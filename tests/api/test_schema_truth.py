"""The OpenAPI schema says what the API answers (the points schemathesis found, each pinned down)."""

import pytest
import yaml
from django.test import Client

from tests.api.conftest import assert_error
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client) -> dict:
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def resolve(schema: dict, ref_or_schema: dict) -> dict:
    while "$ref" in ref_or_schema:
        ref_or_schema = schema["components"]["schemas"][ref_or_schema["$ref"].rsplit("/", 1)[1]]
    return ref_or_schema


@pytest.mark.parametrize("path", ["/api/v1/incidents/", "/api/v1/components/", "/api/v1/services/"])
def test_a_page_that_does_not_exist_is_documented_as_a_404(schema, api, path):
    assert "404" in schema["paths"][path]["get"]["responses"]
    assert_error(api.get(path, {"page": 0}), 404, "not_found")


def test_every_operation_documents_400_and_401_and_every_write_403_and_409(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"400", "401"} <= codes, (method, path)
            if method in ("post", "put", "patch", "delete"):
                assert {"403", "409"} <= codes, (method, path)


def test_a_page_without_a_role_is_documented(schema, api, user):
    role = resolve(schema, schema["components"]["schemas"]["Page"]["properties"]["role"])
    options = [resolve(schema, option) for option in role.get("oneOf", [role])]
    assert any("" in option.get("enum", []) for option in options), role
    incident = IncidentFactory(declared_by=user)
    paged = api.post(f"/api/v1/incidents/{incident.pk}/pages/", {"user": user.pk}, format="json")
    assert paged.status_code == 201 and paged.json()["role"] == ""


def test_affected_components_are_documented_as_the_list_they_are(schema):
    field = schema["components"]["schemas"]["PublicUpdate"]["properties"]["affected_components"]
    assert field["type"] == "array"
    item = resolve(schema, field["items"])
    assert set(item["properties"]) == {"code", "name", "old_status", "new_status"}


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing/", "/api/v1/incidents/1/x%0Ay/"])
def test_a_post_to_an_unknown_api_path_is_a_json_404_not_a_csrf_page(path, db):
    response = Client(enforce_csrf_checks=True).post(path, "{}", content_type="application/json")
    assert_error(response, 404, "not_found")
