"""Hypothesis against every form and API field: the answer is a 4xx or a success, never a 5xx, and a 4xx
writes nothing.

Values mix what people type with what breaks software: control characters, NUL,
line and paragraph separators, unpaired surrogates (JSON only: a form cannot
carry one), very long text, numbers out of range, and JSON nested far too deep.
A bounded number of examples per surface with a fixed seed keeps the run short
and repeatable; it runs on SQLite and on PostgreSQL (which refuses NUL in text,
so a missed check there is a 500).
"""

import json
import re
import time
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from comms.models import Delivery, Message
from incidents.models import Incident, TimelineEntry
from integrations.models import AlertGroup
from integrations.slack import signature_for
from roles.models import Page, RoleAssignment, Service
from statuspage.models import Component, PageSettings, PublicIncident, PublicUpdate, Subscriber
from tests.api.alerting import payload
from tests.api.conftest import TokenClient
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db

EXAMPLES = 30
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)
SLACK_SECRET = "fuzz-signing-secret"

# --- Values ---------------------------------------------------------------------------------------------

NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\n",
    "two\nlines",
    "\r\n",
    "line\u2028separator",
    "para\u2029graph",
    "vertical\vtab",
    "\x0c\x1c\x1d\x1e\x1f\x85",
    "\t",
    "\u202eright-to-left",
    "\ufeffbom",
    "%00",
    "<script>alert(1)</script>",
    "'; DROP TABLE incidents_incident; --",
    "９",
    "²",
    "INC-0",
    "-1",
    "0",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "null",
    "person:1",
    "service:999999999999",
    "schedule:-1",
    "../../etc/passwd",
    "x" * 5000,
    "é" * 60_000,
    "\U0001f525 fire",
]
# Characters a form can carry, control characters and separators weighted in.
form_text = st.one_of(
    st.sampled_from(NASTY),
    st.sampled_from(["\x00", "disk\x00full", "\x00" * 3, "line\nbreak\u2028and\vmore"]),
    st.text(max_size=30),
    st.text(alphabet=st.characters(max_codepoint=0x9F), max_size=20),
    st.text(alphabet=st.sampled_from("\x00\n\r\v\x85\u2028\u2029 a\u00e9"), max_size=12),
)
# JSON can also carry unpaired surrogates (as \ud800 escapes).
json_text = st.one_of(form_text, st.sampled_from(["\ud800", "a\udfffb", "\udbff\udbff"]))
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63 - 5, max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    json_text,
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(json_text, inner, max_size=3),
    max_leaves=8,
)

# A field's replacement: mostly text (which gets past the type checks), sometimes any JSON.
wire_values = st.one_of(json_text, json_text, json_value)


def deep(depth: int, inner: str = "") -> str:
    return "[" * depth + inner + "]" * depth


class Raw(str):
    """A body sent as it is, not as JSON."""


# Bodies that are not what any endpoint reads: deep nesting, broken JSON, NUL bytes.
raw_body = st.one_of(
    st.integers(min_value=65, max_value=60_000).map(deep),
    st.integers(min_value=65, max_value=5_000).map(lambda d: '{"title": ' + deep(d) + ', "severity": 3}'),
    st.sampled_from(['{"title": "x"', "{'title': 'x'}", '{"title": "\\u0000"}', "\x00", '"\\ud800"', "NaN"]),
    st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
).map(Raw)


@st.composite
def mutated(draw, valid: dict, values: st.SearchStrategy) -> dict:
    """Valid data with up to two fields replaced by a drawn value (or left out).

    One bad field at a time gets past the checks of the others, down to the
    service and the database; sometimes nothing is changed, and the request
    succeeds and writes.
    """
    data = dict(valid)
    for key in draw(st.lists(st.sampled_from(sorted(valid)), max_size=2, unique=True)):
        if draw(st.integers(min_value=0, max_value=5)) == 0:
            del data[key]
        else:
            data[key] = draw(values)
    return data


def ids(world, data):
    """Placeholders for the world's objects: "@someone", "@someone.name", "@component"."""
    known = {
        "@someone": world["someone"].pk,
        "@someone.name": world["someone"].username,
        "@component": world["component"].public_id,
    }

    def swap(value):
        if isinstance(value, str) and value in known:
            return known[value]
        if isinstance(value, list):
            return [swap(v) for v in value]
        if isinstance(value, dict):
            return {swap(k): swap(v) for k, v in value.items()}
        return value

    return swap(data)


# --- What a 4xx must not have written -----------------------------------------------------------------

WATCHED = [
    Incident,
    TimelineEntry,
    Message,
    Delivery,
    RoleAssignment,
    Page,
    PublicIncident,
    PublicUpdate,
    Subscriber,
    AlertGroup,
    Component,
]


def snapshot() -> tuple:
    counts = tuple(model.objects.count() for model in WATCHED)
    revisions = tuple(Incident.objects.order_by("pk").values_list("revision", "status", "severity", "title"))
    return counts, revisions


def check(response, before) -> None:
    assert response.status_code < 500, (response.status_code, response.content[:500])
    if 400 <= response.status_code < 500:
        assert snapshot() == before, f"a {response.status_code} wrote something: {response.content[:300]!r}"


# --- The world the requests act on ----------------------------------------------------------------------


@pytest.fixture
def world(settings, tmp_path, client):
    settings.STATUSPAGE_SNAPSHOT_DIR = tmp_path / "statuspage"
    settings.STATUSPAGE_SUBSCRIBE_LIMIT = 10_000
    settings.SLACK_SIGNING_SECRET = SLACK_SECRET
    admin = UserFactory(is_staff=True, is_superuser=True, username="fuzz-admin")
    someone = UserFactory(username="fuzz-someone")
    PageSettings.objects.create(pk=1, name="Acme", url="https://status.acme.test", time_zone="Etc/UTC")
    component = Component.objects.create(name="API", position=1)
    Subscriber.objects.create(kind="email", email="sub@example.com", confirmed_at=timezone.now())
    incident = IncidentFactory(declared_by=admin, title="Checkout fails")
    service = Service.objects.create(name="Checkout", primary_owner=someone)
    client.force_login(admin)
    client.raise_request_exception = True
    return {
        "client": client,
        "api": TokenClient(admin),
        "admin": admin,
        "someone": someone,
        "incident": incident,
        "service": service,
        "component": component,
    }


def post_form(world, url, data):
    before = snapshot()
    response = world["client"].post(url, data)
    check(response, before)
    return response


def send_json(world, method, url, data):
    before = snapshot()
    body = data if isinstance(data, Raw) else json.dumps(data)
    response = getattr(world["api"], method)(url, body, content_type="application/json")
    check(response, before)
    if response.status_code >= 400:
        assert set(response.json()) == {"detail", "code", "errors"}, response.content[:300]
    return response


# --- Forms ------------------------------------------------------------------------------------------------


@FUZZ
@given(
    data=mutated(
        {
            "title": "Checkout fails",
            "severity": "3",
            "summary": "",
            "rollback_considered": "No.",
            "is_security": "",
        },
        form_text,
    )
)
def test_the_declare_form(world, data):
    post_form(world, "/incidents/declare/", data)


@FUZZ
@given(
    data=mutated(
        {"kind": "note", "body": "Looked at the graphs.", "occurred_at": "", "backdate_reason": ""},
        st.one_of(form_text, st.sampled_from(["0001-01-01T00:00", "9999-12-31T23:59", "2026-02-30T10:00"])),
    )
)
def test_the_timeline_entry_form(world, data):
    post_form(world, f"/incidents/{world['incident'].number}/timeline/", data)


@FUZZ
@given(
    which=st.sampled_from(["status", "severity", "reopen"]),
    data=mutated(
        {"status": "investigating", "severity": "2", "note": "because", "reason": "It came back."},
        st.one_of(st.sampled_from(["resolved", "declined", "triage", "1", "5", "7"]), form_text),
    ),
)
def test_the_status_severity_and_reopen_forms(world, which, data):
    post_form(world, f"/incidents/{world['incident'].number}/{which}/", data)


@FUZZ
@given(data=mutated({"role": "scribe", "user": "@someone"}, form_text))
def test_the_role_assign_form(world, data):
    post_form(world, f"/incidents/{world['incident'].number}/roles/assign/", ids(world, data))


@FUZZ
@given(data=mutated({"target": "person:@someone", "message": "Please join"}, form_text))
def test_the_page_form(world, data):
    if data.get("target") == "person:@someone":
        data["target"] = f"person:{world['someone'].pk}"
    post_form(world, f"/incidents/{world['incident'].number}/pages/", data)


@FUZZ
@given(
    data=mutated(
        {
            "title": "Checkout errors",
            "status": "investigating",
            "body": "We are looking into it.",
            "impact": "",
            "deliver_notifications": "on",
            "component": "major_outage",
        },
        form_text,
    )
)
def test_the_public_update_form_previewed_then_published(world, data):
    if "component" in data:
        data[f"component_{world['component'].public_id}"] = data.pop("component")
    url = f"/incidents/{world['incident'].number}/public-update/"
    preview = post_form(world, url, {**data, "action": "preview"})
    token = re.search(rb'name="preview_token" value="([^"]+)"', preview.content)
    if preview.status_code == 200 and token:
        post_form(world, url, {**data, "action": "publish", "preview_token": token.group(1).decode()})


@FUZZ
@given(
    data=mutated(
        {
            "kind": "webhook",
            "email": "ann@example.com",
            "webhook_url": "https://hooks.example.com/status",
            "components": ["@component"],
        },
        st.one_of(form_text, st.lists(form_text, max_size=3)),
    )
)
def test_the_subscribe_form(world, data):
    post_form(world, "/status/subscribe/", ids(world, data))


# --- Alert endpoints and Slack ------------------------------------------------------------------------------


@FUZZ
@given(
    top=st.dictionaries(
        st.sampled_from(
            [
                "version",
                "groupKey",
                "status",
                "receiver",
                "groupLabels",
                "commonLabels",
                "commonAnnotations",
                "externalURL",
                "alerts",
                "truncatedAlerts",
            ]
        ),
        wire_values,
        max_size=3,
    ),  # fmt: skip
    labels=st.dictionaries(
        st.one_of(st.sampled_from(["instance", "severity", "alertname"]), json_text), json_text, max_size=3
    ),
    annotations=st.dictionaries(st.sampled_from(["summary", "description"]), json_text, max_size=2),
    raw=st.one_of(st.none(), raw_body),
)
def test_the_alertmanager_endpoint(world, client, top, labels, annotations, raw):
    data = payload("alertmanager_firing") | top
    alerts = data.get("alerts")
    if isinstance(alerts, list) and alerts and isinstance(alerts[0], dict):
        for name, extra in (("labels", labels), ("annotations", annotations)):
            if isinstance(alerts[0].get(name), dict):
                alerts[0][name] = {**alerts[0][name], **extra}
    body = raw if raw is not None else json.dumps(data)
    before = snapshot()
    response = client.post(
        "/integrations/alertmanager/",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {world['service'].integration_key}",
    )
    check(response, before)


@FUZZ
@given(
    top=st.dictionaries(
        st.sampled_from(
            ["routing_key", "event_action", "dedup_key", "client", "client_url", "links", "images"]
        ),
        wire_values,
        max_size=3,
    ),
    inner=st.dictionaries(
        st.sampled_from(
            ["summary", "source", "severity", "timestamp", "component", "group", "class", "custom_details"]
        ),
        wire_values,
        max_size=3,
    ),  # fmt: skip
    raw=st.one_of(st.none(), raw_body),
)
def test_the_pagerduty_endpoint(world, client, top, inner, raw):
    data = payload("pagerduty_trigger", routing_key=world["service"].integration_key) | top
    if isinstance(data.get("payload"), dict):
        data["payload"] = data["payload"] | inner
    body = raw if raw is not None else json.dumps(data)
    before = snapshot()
    response = client.post("/integrations/pagerduty/v2/enqueue", body, content_type="application/json")
    check(response, before)


@FUZZ
@given(
    text=st.one_of(
        st.sampled_from(["status", "declare Login broken", "status stalk", "status stop", "ic page", "help"]),
        form_text,
        st.tuples(st.sampled_from(["declare ", "status ", "link "]), form_text).map("".join),
    ),
    user_name=st.one_of(st.just("fuzz-admin"), form_text),
    channel_id=st.one_of(st.just("C0INCIDENT"), form_text),
)
def test_slack_commands(world, client, text, user_name, channel_id):
    body = urlencode(
        {
            "command": "/incident",
            "text": text,
            "user_id": "U0FUZZ",
            "user_name": user_name,
            "channel_id": channel_id,
        }
    ).encode()
    timestamp = str(int(time.time()))
    before = snapshot()
    response = client.post(
        "/integrations/slack/commands/",
        body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_SLACK_REQUEST_TIMESTAMP=timestamp,
        HTTP_X_SLACK_SIGNATURE=signature_for(secret=SLACK_SECRET, timestamp=timestamp, body=body),
    )
    check(response, before)


# --- The API ------------------------------------------------------------------------------------------------

api_body = st.one_of(json_value, raw_body)


@FUZZ
@given(
    data=st.one_of(
        mutated(
            {
                "title": "Checkout fails",
                "severity": 3,
                "summary": "",
                "is_security": False,
                "detected_at": None,
            },
            wire_values,
        ),
        mutated({"title": "Big one", "severity": 1, "rollback_considered": "No."}, wire_values),
        api_body,
    )
)
def test_the_api_declare(world, data):
    send_json(world, "post", "/api/v1/incidents/", data)


@FUZZ
@given(data=st.one_of(mutated({"title": "New title", "summary": "More."}, wire_values), api_body))
def test_the_api_edit(world, data):
    send_json(world, "patch", f"/api/v1/incidents/{world['incident'].pk}/", data)


@FUZZ
@given(
    data=st.one_of(
        mutated(
            {"kind": "note", "body": "Graphs are red.", "occurred_at": None, "backdate_reason": ""},
            wire_values,
        ),
        api_body,
    )
)
def test_the_api_timeline(world, data):
    send_json(world, "post", f"/api/v1/incidents/{world['incident'].pk}/timeline/", data)


@FUZZ
@given(
    which=st.sampled_from(["status", "severity", "reopen"]),
    data=st.one_of(
        mutated(
            {"status": "investigating", "severity": 2, "note": "because", "reason": "It came back."},
            st.one_of(st.sampled_from(["resolved", "declined", 1, 5, "7"]), json_value),
        ),
        api_body,
    ),
)
def test_the_api_status_severity_and_reopen(world, which, data):
    send_json(world, "post", f"/api/v1/incidents/{world['incident'].pk}/{which}/", data)


@FUZZ
@given(
    data=st.one_of(
        mutated({"role": "scribe", "user": "@someone", "handover_note": ""}, wire_values), api_body
    )
)
def test_the_api_roles(world, data):
    send_json(world, "post", f"/api/v1/incidents/{world['incident'].pk}/roles/", ids(world, data))


@FUZZ
@given(
    data=st.one_of(
        mutated({"user": "@someone.name", "message": "Please join"}, wire_values),
        mutated({"incident_commander": True, "message": "IC please"}, wire_values),
        mutated({"service": 1, "schedule": 1}, wire_values),
        api_body,
    )
)
def test_the_api_pages(world, data):
    send_json(world, "post", f"/api/v1/incidents/{world['incident'].pk}/pages/", ids(world, data))


@FUZZ
@given(
    data=st.one_of(
        mutated(
            {
                "status": "investigating",
                "title": "Checkout errors",
                "body": "Looking into it.",
                "components": {"@component": "partial_outage"},
                "impact": None,
                "deliver_notifications": True,
            },
            wire_values,
        ),
        api_body,
    )
)
def test_the_api_public_updates(world, data):
    send_json(world, "post", f"/api/v1/incidents/{world['incident'].pk}/public-updates/", ids(world, data))


@FUZZ
@given(
    query=st.dictionaries(
        st.sampled_from(["q", "status", "severity", "page", "page_size", "declared_from", "fresh"]),
        form_text,
        max_size=4,
    )
)
def test_the_api_list_query(world, query):
    before = snapshot()
    response = world["api"].get("/api/v1/incidents/", query)
    check(response, before)


@FUZZ
@given(
    url=st.sampled_from(
        [
            "/incidents/",
            "/comms/outbox/",
            "/comms/notifications/",
            "/incidents/{number}/poll/",
            "/incidents/{number}/",
        ]
    ),
    query=st.dictionaries(
        st.sampled_from(
            ["q", "status", "severity", "incident", "state", "page", "revision", "before", "declared_from"]
        ),
        form_text,
        max_size=4,
    ),
)
def test_the_query_strings_of_pages(world, url, query):
    before = snapshot()
    response = world["client"].get(url.format(number=world["incident"].number), query)
    check(response, before)


@FUZZ
@given(notification=st.one_of(st.just(""), form_text))
def test_marking_a_notification_read(world, notification):
    before = snapshot()
    response = world["client"].post("/comms/notifications/read/", {"id": notification})
    check(response, before)


def test_the_fuzz_reaches_past_validation(world):
    """The strategies are not all noise: valid values get through and write (else the fuzz proves little)."""
    response = send_json(world, "post", "/api/v1/incidents/", {"title": "Checkout fails", "severity": 3})
    assert response.status_code == 201
    assert get_user_model().objects.filter(username="fuzz-admin").exists()
