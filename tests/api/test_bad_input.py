"""Bad input is a 4xx with a message and nothing written: never a 500, nor a 503 that senders retry.

On PostgreSQL each NUL case below was a 500 (or a 503 "database is unavailable"
on the integration endpoints): PostgreSQL stores no NUL in text. Deep JSON was a
RecursionError 500 on any database.
"""

import json
import time
from urllib.parse import urlencode

import pytest
from django.db import DataError

from incidents.models import Incident
from integrations.models import AlertGroup
from integrations.slack import signature_for
from roles.models import RoleAssignment, Service
from statuspage.models import Subscriber
from tests.api.alerting import payload, post_alertmanager, post_pagerduty
from tests.api.conftest import assert_error
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

DEEP = "[" * 50_000 + "]" * 50_000


@pytest.fixture
def service(db):
    return Service.objects.create(name="Checkout")


def nothing_written():
    return Incident.objects.count() == 0 and AlertGroup.objects.count() == 0


# --- NUL outside the body: the path, the query string, a header ------------------------------------


def test_it_refuses_a_nul_in_the_query_string_of_an_api_call(api):
    response = api.get("/api/v1/incidents/", {"q": "disk\x00full"})
    body = assert_error(response, 400, "invalid")
    assert "Null characters" in body["detail"] and "query" in body["errors"]


@pytest.mark.parametrize(
    "url",
    [
        "/incidents/?q=a%00b",
        "/status/subscribe/confirm/a%00b/",
        "/status/unsubscribe/a%00b/",
        "/pages/ack/a%00b/",
        "/comms/outbox/?incident=%00",
    ],
)
def test_it_refuses_a_nul_in_a_page_address(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 400
    assert "Null characters (U+0000) are not allowed" in response.content.decode()


def test_it_refuses_a_nul_in_a_header_before_the_token_is_looked_up(anon_api):
    response = anon_api.get("/api/v1/incidents/", HTTP_AUTHORIZATION="Bearer abc\x00def")
    body = assert_error(response, 400, "invalid")
    assert "Authorization" in body["errors"]


def test_it_refuses_a_nul_in_the_alertmanager_key(client, service):
    response = post_alertmanager(client, payload("alertmanager_firing"), "key\x00")
    assert response.status_code == 400 and nothing_written()


# --- NUL, unpaired surrogates, NaN and deep nesting in JSON bodies -----------------------------------


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": "Disk\x00full", "severity": 3}, "title"),
        ({"title": "Disk full", "severity": 3, "summary": "a\x00b"}, "summary"),
        ({"title": "Disk \ud800 full", "severity": 3}, "title"),
        ({"title": "Disk full", "severity": 3, "extra\x00key": 1}, "extra\\u0000key"),
    ],
)
def test_it_refuses_nul_and_surrogates_in_an_api_body_naming_the_field(api, data, field):
    raw = json.dumps(data)  # ensure_ascii: "\u0000" and "\ud800" escapes, as a client sends them
    response = api.post("/api/v1/incidents/", raw, content_type="application/json")
    body = assert_error(response, 400, "invalid")
    assert field in body["errors"], body
    assert Incident.objects.count() == 0


def test_it_refuses_a_nul_in_a_person_reference(api, user):
    incident = IncidentFactory(declared_by=user)
    response = api.post(
        f"/api/v1/incidents/{incident.pk}/roles/", {"role": "scribe", "user": "ann\x00"}, format="json"
    )
    body = assert_error(response, 400, "invalid")
    assert "user" in body["errors"]
    assert not RoleAssignment.objects.filter(incident=incident, role="scribe").exists()


def test_an_escaped_backslash_u0000_is_just_text(api):
    response = api.post(
        "/api/v1/incidents/",
        json.dumps({"title": "Literal \\u0000 in a title", "severity": 3}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert Incident.objects.get().title == "Literal \\u0000 in a title"


def test_it_refuses_nan(api):
    response = api.post(
        "/api/v1/incidents/", '{"title": "x", "severity": NaN}', content_type="application/json"
    )
    assert_error(response, 400, "parse_error")


@pytest.mark.parametrize("body", [DEEP, '{"title": ' + DEEP + "}", "[" * 65 + "]" * 65])
def test_it_refuses_deep_json_in_the_api(api, body):
    response = api.post("/api/v1/incidents/", body, content_type="application/json")
    body = assert_error(response, 400, "parse_error")
    assert "nested deeper than 64 levels" in body["detail"]
    assert Incident.objects.count() == 0


def test_json_as_deep_as_the_limit_is_read(api):
    response = api.post(
        "/api/v1/incidents/",
        json.dumps({"title": "x", "severity": 3, "extra": [[[[]]]]}),
        content_type="application/json",
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d["commonLabels"].update(team="db\x00"), "commonLabels.team"),
        (lambda d: d.update(groupKey="{}:\x00"), "groupKey"),
        (lambda d: d["alerts"][0]["annotations"].update(summary="full\x00"), "alerts[0].annotations.summary"),
        (lambda d: d["alerts"][0]["labels"].update(instance="\udc80"), "alerts[0].labels.instance"),
    ],
)
def test_alertmanager_gets_a_400_for_nul_or_surrogates_not_a_503(client, service, change, where):
    data = payload("alertmanager_firing")
    change(data)
    response = post_alertmanager(client, json.dumps(data), service.integration_key)
    assert response.status_code == 400, response.content
    assert where in json.dumps(response.json())
    assert nothing_written()


def test_alertmanager_gets_a_400_for_deep_json_even_with_a_wrong_key(client, service):
    response = post_alertmanager(client, DEEP, "not-a-key")
    assert response.status_code == 400
    assert response.json()["code"] == "too_deep"
    assert nothing_written()


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(routing_key="key\x00"),
        lambda d: d.update(dedup_key="checkout\x00"),
        lambda d: d["payload"].update(summary="5xx\x00"),
        lambda d: d["payload"].update(custom_details={"deep": json.loads("[" * 70 + "]" * 70)}),
    ],
)
def test_pagerduty_gets_a_400_for_nul_or_deep_json_not_a_503(client, service, change):
    data = payload("pagerduty_trigger", routing_key=service.integration_key)
    change(data)
    response = post_pagerduty(client, json.dumps(data))
    assert response.status_code == 400, response.content
    assert response.json()["status"] == "invalid event"
    assert nothing_written()


def test_pagerduty_gets_a_400_for_json_nested_50000_deep(client):
    response = post_pagerduty(client, DEEP)
    assert response.status_code == 400 and response.json()["status"] == "invalid event"


def test_a_value_the_database_refuses_is_a_400_not_a_retried_503(client, service, monkeypatch):
    from integrations import alerts

    def refuse(**kwargs):
        raise DataError("value too long for type character varying(200)")

    monkeypatch.setattr(alerts, "alert_trigger", refuse)
    response = post_alertmanager(client, payload("alertmanager_firing"), service.integration_key)
    assert response.status_code == 400 and "cannot be stored" in response.json()["detail"]
    pd = post_pagerduty(client, payload("pagerduty_trigger", routing_key=service.integration_key))
    assert pd.status_code == 400 and pd.json()["status"] == "invalid event"


def test_a_slack_command_with_a_nul_is_a_400(client, settings):
    settings.SLACK_SIGNING_SECRET = "s3cret"
    body = urlencode({"command": "/incident", "text": "status\x00", "user_name": "alice"}).encode()
    timestamp = str(int(time.time()))
    response = client.post(
        "/integrations/slack/commands/",
        body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_SLACK_REQUEST_TIMESTAMP=timestamp,
        HTTP_X_SLACK_SIGNATURE=signature_for(secret="s3cret", timestamp=timestamp, body=body),
    )
    assert response.status_code == 400 and "Null characters" in response.json()["detail"]


def test_the_subscribe_form_refuses_a_nul(client, db):
    from statuspage.models import PageSettings

    PageSettings.objects.create(pk=1, name="Acme", url="https://status.acme.test", time_zone="Etc/UTC")
    response = client.post("/status/subscribe/", {"kind": "email", "email": "ann\x00@example.com"})
    assert response.status_code in (200, 400)
    assert Subscriber.objects.count() == 0


# --- A 500 under /api/ is JSON in the error format ---------------------------------------------------


def test_a_bug_in_an_api_view_answers_json_in_the_error_format(api, monkeypatch):
    from incidents.api import views

    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(views, "incident_list", broken)
    api.raise_request_exception = False
    response = api.get("/api/v1/incidents/")
    body = assert_error(response, 500, "server_error")
    assert response["Content-Type"] == "application/json"
    assert "a bug" not in body["detail"]


def test_a_failure_outside_drf_under_api_answers_json_too(client, monkeypatch):
    from core import middleware

    def broken(request):
        raise RuntimeError("a bug before any view")

    monkeypatch.setattr(middleware, "_nul_in", broken)
    client.raise_request_exception = False
    response = client.get("/api/v1/incidents/")
    assert_error(response, 500, "server_error")
    page = client.get("/incidents/")
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")


# --- "²" is a digit to str.isdigit() but not to int(): each of these was a 500 -----------------------


def test_a_superscript_severity_filter_in_the_api_is_a_400(api):
    assert_error(api.get("/api/v1/incidents/", {"severity": "²"}), 400, "invalid")


def test_a_superscript_person_id_in_the_api_is_a_400(api, user):
    incident = IncidentFactory(declared_by=user)
    response = api.post(
        f"/api/v1/incidents/{incident.pk}/roles/", {"role": "scribe", "user": "²"}, format="json"
    )
    assert_error(response, 400, "invalid")


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("get", "/comms/outbox/", {"incident": "²"}),
        ("get", "/comms/outbox/", {"incident": "9" * 30}),
        ("post", "/comms/notifications/read/", {"id": "²"}),
    ],
)
def test_superscript_and_huge_numbers_in_pages_are_4xx(client, admin_user, method, url, data):
    client.force_login(admin_user)
    response = getattr(client, method)(url, data)
    assert 400 <= response.status_code < 500


def test_a_superscript_page_target_is_a_form_error(client, user):
    incident = IncidentFactory(declared_by=user)
    client.force_login(user)
    response = client.post(f"/incidents/{incident.number}/pages/", {"target": "person:²", "message": "hi"})
    assert response.status_code < 500
    assert not incident.pages.exists()
