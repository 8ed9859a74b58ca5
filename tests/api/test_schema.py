import re
from io import StringIO

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command

pytestmark = pytest.mark.django_db


FIXED_PATHS = [
    "/api/v1/incidents/",
    "/api/v1/incidents/{id}/",
    "/api/v1/incidents/{id}/status/",
    "/api/v1/incidents/{id}/severity/",
    "/api/v1/incidents/{id}/timeline/",
    "/api/v1/incidents/{id}/roles/",
    "/api/v1/incidents/{id}/public-updates/",
]


def test_the_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"
    # --fail-on-warn raises on any warning; --validate checks it against the OpenAPI 3 spec.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out), stderr=StringIO())
    schema = yaml.safe_load(out.read_text())
    assert schema["openapi"].startswith("3.")
    paths = {re.sub(r"\{[a-z_]+\}", "{id}", p, count=1) for p in schema["paths"]}
    assert set(FIXED_PATHS) <= paths
    assert "bearerAuth" in schema["components"]["securitySchemes"]
    # Every operation that takes a body describes it, and every one describes its answer.
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert {"200", "201", "204"} & set(operation["responses"]), (method, path)
            if method in ("post", "patch") and not path.endswith(("/acknowledge/", "/revoke/")):
                assert "requestBody" in operation, (method, path)


def test_the_schema_is_served(client):
    response = client.get("/api/v1/schema/")
    assert response.status_code == 200
    assert b"/api/v1/incidents/" in response.content


def test_the_docs_page_works_under_the_sites_csp(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    html = response.content.decode()
    # No inline script or style: every <script> has a src, no <style> element, no style attribute.
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert "<style" not in html and " style=" not in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert all(s.startswith("/") for s in sources), sources
    static = [s for s in sources if s.startswith("/static/")]
    assert len(static) >= 3
    for url in static:
        assert finders.find(url.removeprefix("/static/")), url
    script = [s for s in sources if "script" in s and not s.startswith("/static/")]
    assert len(script) == 1
    js = client.get(script[0])
    assert js.status_code == 200 and b"SwaggerUIBundle" in js.content


def test_every_endpoint_answers_401_without_a_token(anon_api, tmp_path):
    """Walk the schema: every operation but the schema and docs needs a token."""
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(out), stderr=StringIO())
    schema = yaml.safe_load(out.read_text())
    checked = 0
    for path, operations in schema["paths"].items():
        url = re.sub(r"\{[a-z_]+\}", "1", path)
        for method in operations:
            response = getattr(anon_api, method)(url, {}, format="json")
            assert response.status_code == 401, (method, path, response.status_code)
            assert set(response.json()) == {"detail", "code", "errors"}
            checked += 1
    assert checked >= 20
