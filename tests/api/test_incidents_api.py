import pytest

from incidents.models import Incident, TimelineEntry
from incidents.services import incident_change_status, timeline_add
from roles.models import IncidentRole, RoleAssignment
from tests.api.conftest import TokenClient, assert_error
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def restricted(db):
    return IncidentFactory(is_security=True, title="[Security]: leaked key")


def test_it_declares_an_incident(api, user):
    response = api.post(
        "/api/v1/incidents/",
        {"title": "[Outage]: Checkout", "severity": 2, "summary": "Payments fail", "is_security": False},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert {"id", "number", "title", "severity", "status", "is_security", "url", "roles"} <= set(body)
    assert body["status"] == "triage" and body["severity"] == 2
    assert body["url"].endswith(f"/incidents/{body['number']}/")
    incident = Incident.objects.get(pk=body["id"])
    assert incident.declared_by == user
    assert incident.timeline.filter(kind=TimelineEntry.Kind.STATUS).count() == 1


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"title": "x", "severity": 9}, "severity"),
        ({"title": "x", "severity": "high"}, "severity"),
        ({"severity": 2}, "title"),
        ({"title": "x" * 201, "severity": 2}, "title"),
        ({"title": "x", "severity": 2, "is_security": "perhaps"}, "is_security"),
    ],
)
def test_it_refuses_bad_declarations_and_writes_nothing(api, payload, field):
    response = api.post("/api/v1/incidents/", payload, format="json")
    body = assert_error(response, 400, "invalid")
    assert field in body["errors"]
    assert Incident.objects.count() == 0


def test_it_refuses_malformed_json(api):
    response = api.post("/api/v1/incidents/", "{not json", content_type="application/json")
    assert_error(response, 400, "parse_error")
    assert Incident.objects.count() == 0


def test_it_refuses_a_blank_title_with_the_services_message(api):
    response = api.post("/api/v1/incidents/", {"title": "   ", "severity": 3}, format="json")
    assert_error(response, 400)


def test_list_is_paginated_and_filtered(api):
    open_one = IncidentFactory()
    closed = IncidentFactory()
    incident_change_status(incident=closed, status="declined", by=None, note="A bad check")
    body = api.get("/api/v1/incidents/?status=open").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert [i["id"] for i in body["results"]] == [open_one.pk]
    assert api.get("/api/v1/incidents/?status=closed").json()["count"] == 1
    page = api.get("/api/v1/incidents/?page_size=1").json()
    assert page["count"] == 2 and page["next"] and len(page["results"]) == 1


def test_list_rejects_an_unknown_status_filter(api):
    assert_error(api.get("/api/v1/incidents/?status=exploded"), 400)


def test_list_has_a_bounded_number_of_queries(api, django_assert_max_num_queries):
    for _ in range(8):
        IncidentFactory()
    with django_assert_max_num_queries(8):
        assert api.get("/api/v1/incidents/").status_code == 200


def test_restricted_incident_is_invisible_to_an_outsider_everywhere(outsider_api, restricted):
    pk = restricted.pk
    assert outsider_api.get("/api/v1/incidents/").json()["count"] == 0
    assert outsider_api.get("/api/v1/incidents/?q=leaked").json()["count"] == 0
    for method, url, data in [
        ("get", f"/api/v1/incidents/{pk}/", None),
        ("patch", f"/api/v1/incidents/{pk}/", {"title": "x"}),
        ("post", f"/api/v1/incidents/{pk}/status/", {"status": "investigating"}),
        ("post", f"/api/v1/incidents/{pk}/severity/", {"severity": 1}),
        ("post", f"/api/v1/incidents/{pk}/reopen/", {"reason": "x"}),
        ("get", f"/api/v1/incidents/{pk}/timeline/", None),
        ("post", f"/api/v1/incidents/{pk}/timeline/", {"kind": "note", "body": "hi"}),
        ("get", f"/api/v1/incidents/{pk}/roles/", None),
        ("post", f"/api/v1/incidents/{pk}/roles/", {"role": "scribe", "user": 1}),
        ("get", f"/api/v1/incidents/{pk}/pages/", None),
        ("post", f"/api/v1/incidents/{pk}/pages/", {"incident_commander": True}),
        (
            "post",
            f"/api/v1/incidents/{pk}/public-updates/",
            {"status": "investigating", "title": "t", "body": "b"},
        ),
    ]:
        response = getattr(outsider_api, method)(url, data, format="json")
        assert_error(response, 404, "not_found")
    restricted.refresh_from_db()
    assert restricted.status == "triage" and restricted.title == "[Security]: leaked key"
    assert restricted.timeline.count() == 1


def test_a_participant_and_an_admin_see_a_restricted_incident(restricted, admin_api):
    declarer = TokenClient(restricted.declared_by)
    assert declarer.get(f"/api/v1/incidents/{restricted.pk}/").status_code == 200
    assert admin_api.get(f"/api/v1/incidents/{restricted.pk}/").status_code == 200


def test_it_shows_current_role_holders(api, user):
    incident = IncidentFactory()
    ic = UserFactory()
    RoleAssignment.objects.create(incident=incident, role=IncidentRole.INCIDENT_COMMANDER, user=ic)
    body = api.get(f"/api/v1/incidents/{incident.pk}/").json()
    assert [(r["role"], r["user"]["id"]) for r in body["roles"]] == [("incident_commander", ic.pk)]


def test_status_change_and_the_409_for_a_forbidden_transition(api):
    incident = IncidentFactory()
    response = api.post(
        f"/api/v1/incidents/{incident.pk}/status/",
        {"status": "investigating", "note": "on it"},
        format="json",
    )
    assert response.status_code == 200 and response.json()["status"] == "investigating"
    assert (
        api.post(f"/api/v1/incidents/{incident.pk}/status/", {"status": "triage"}, format="json").status_code
        == 409
    )
    body = assert_error(
        api.post(f"/api/v1/incidents/{incident.pk}/status/", {"status": "investigating"}, format="json"),
        409,
        "conflict",
    )
    assert "already" in body["detail"]
    assert_error(
        api.post(f"/api/v1/incidents/{incident.pk}/status/", {"status": "exploded"}, format="json"), 400
    )
    incident.refresh_from_db()
    assert incident.status == "investigating"


def test_resolving_a_major_incident_without_verification_is_409(api):
    incident = IncidentFactory(severity=1)
    body = assert_error(
        api.post(f"/api/v1/incidents/{incident.pk}/status/", {"status": "resolved"}, format="json"), 409
    )
    assert "verification" in body["detail"]


def test_severity_change(api):
    incident = IncidentFactory(severity=3)
    response = api.post(
        f"/api/v1/incidents/{incident.pk}/severity/", {"severity": 2, "note": "spreading"}, format="json"
    )
    assert response.status_code == 200 and response.json()["severity"] == 2
    assert_error(api.post(f"/api/v1/incidents/{incident.pk}/severity/", {"severity": 2}, format="json"), 409)
    assert_error(api.post(f"/api/v1/incidents/{incident.pk}/severity/", {"severity": 0}, format="json"), 400)


def test_reopen_and_edit(api):
    incident = IncidentFactory()
    incident_change_status(incident=incident, status="resolved", by=None)
    assert_error(api.post(f"/api/v1/incidents/{incident.pk}/reopen/", {}, format="json"), 400)
    response = api.post(f"/api/v1/incidents/{incident.pk}/reopen/", {"reason": "It came back"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "investigating"
    response = api.patch(f"/api/v1/incidents/{incident.pk}/", {"title": "[Outage]: Renamed"}, format="json")
    assert response.status_code == 200 and response.json()["title"] == "[Outage]: Renamed"


def test_timeline_list_and_add(api, user):
    incident = IncidentFactory()
    timeline_add(incident=incident, kind="note", body="first", author=user)
    response = api.post(
        f"/api/v1/incidents/{incident.pk}/timeline/", {"kind": "note", "body": "second"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["author"]["id"] == user.pk
    body = api.get(f"/api/v1/incidents/{incident.pk}/timeline/").json()
    assert [e["body"] for e in body["results"]][:2] == ["second", "first"]
    assert_error(
        api.post(
            f"/api/v1/incidents/{incident.pk}/timeline/", {"kind": "status", "body": "x"}, format="json"
        ),
        400,
    )
    assert_error(
        api.post(f"/api/v1/incidents/{incident.pk}/timeline/", {"kind": "note", "body": ""}, format="json"),
        400,
    )


def test_unknown_incident_is_404(api):
    assert_error(api.get("/api/v1/incidents/999999/"), 404, "not_found")


def test_a_body_over_512_kb_is_413(api):
    response = api.post(
        "/api/v1/incidents/", {"title": "x", "severity": 3, "summary": "y" * (600 * 1024)}, format="json"
    )
    assert_error(response, 413, "body_too_large")
    assert Incident.objects.count() == 0


def test_a_form_body_is_415(api):
    response = api.post("/api/v1/incidents/", {"title": "x", "severity": 3})
    assert_error(response, 415)


def test_an_unknown_api_path_answers_in_the_error_format(api):
    assert_error(api.get("/api/v1/nothing-here/"), 404, "not_found")
