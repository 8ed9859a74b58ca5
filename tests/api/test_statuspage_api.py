import pytest

from roles.models import IncidentRole, RoleAssignment
from statuspage.models import Component, PublicUpdate
from tests.api.conftest import TokenClient, assert_error
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def component(db):
    return Component.objects.create(name="API")


def test_components_are_listed_with_their_public_ids(api, component):
    body = api.get("/api/v1/components/").json()
    assert body["results"][0]["id"] == component.public_id
    assert body["results"][0]["status"] == "operational"


def test_only_admins_set_a_components_status(api, admin_api, component):
    url = f"/api/v1/components/{component.public_id}/status/"
    assert_error(api.post(url, {"status": "major_outage"}, format="json"), 403)
    assert_error(admin_api.post(url, {"status": "on_fire"}, format="json"), 400)
    response = admin_api.post(url, {"status": "partial_outage"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "partial_outage"
    assert_error(
        admin_api.post("/api/v1/components/nope/status/", {"status": "operational"}, format="json"), 404
    )


def test_the_ic_posts_a_public_update_with_component_statuses(user, component):
    incident = IncidentFactory()
    RoleAssignment.objects.create(incident=incident, role=IncidentRole.INCIDENT_COMMANDER, user=user)
    api = TokenClient(user)
    response = api.post(
        f"/api/v1/incidents/{incident.pk}/public-updates/",
        {
            "status": "investigating",
            "title": "Checkout errors",
            "body": "Some payments fail; we are on it.",
            "components": {component.public_id: "major_outage"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "investigating" and body["title"] == "Checkout errors"
    assert body["affected_components"][0]["new_status"] == "major_outage"
    component.refresh_from_db()
    assert component.status == "major_outage"


def test_someone_without_the_role_cannot_post_a_public_update(api, component):
    incident = IncidentFactory()
    body = assert_error(
        api.post(
            f"/api/v1/incidents/{incident.pk}/public-updates/",
            {"status": "investigating", "title": "t", "body": "b"},
            format="json",
        ),
        403,
    )
    assert "liaison" in body["detail"]
    assert PublicUpdate.objects.count() == 0


def test_public_update_input_is_checked(admin_api, component):
    incident = IncidentFactory()
    url = f"/api/v1/incidents/{incident.pk}/public-updates/"
    assert_error(admin_api.post(url, {"status": "postmortem", "title": "t", "body": "b"}, format="json"), 400)
    body = assert_error(
        admin_api.post(
            url,
            {"status": "identified", "title": "t", "body": "b", "components": {"zzz": "major_outage"}},
            format="json",
        ),
        400,
    )
    assert "zzz" in body["detail"]
    assert_error(
        admin_api.post(
            url,
            {"status": "identified", "title": "t", "body": "b", "components": {"x": "on_fire"}},
            format="json",
        ),
        400,
    )
    assert PublicUpdate.objects.count() == 0


def test_a_documented_script_runs_an_incident_end_to_end(admin_api, admin_user, component):
    """The 'done when' script: declare, assign an IC, add a note, post a public update, resolve."""
    incident = admin_api.post(
        "/api/v1/incidents/", {"title": "[Outage]: Login", "severity": 3}, format="json"
    ).json()
    pk = incident["id"]
    assert (
        admin_api.post(
            f"/api/v1/incidents/{pk}/roles/",
            {"role": "incident_commander", "user": admin_user.email},
            format="json",
        ).status_code
        == 201
    )
    assert (
        admin_api.post(
            f"/api/v1/incidents/{pk}/timeline/", {"kind": "note", "body": "Rolled back 4.2"}, format="json"
        ).status_code
        == 201
    )
    assert (
        admin_api.post(
            f"/api/v1/incidents/{pk}/public-updates/",
            {
                "status": "resolved",
                "title": "Login problems",
                "body": "Fixed.",
                "components": {component.public_id: "operational"},
            },
            format="json",
        ).status_code
        == 201
    )
    resolved = admin_api.post(
        f"/api/v1/incidents/{pk}/status/", {"status": "resolved", "note": "all clear"}, format="json"
    )
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    final = admin_api.get(f"/api/v1/incidents/{pk}/").json()
    assert final["roles"][0]["role"] == "incident_commander"
