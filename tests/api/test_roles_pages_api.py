from datetime import timedelta

import pytest
from django.utils import timezone

from roles.models import IncidentRole, LayerMember, Page, RoleAssignment, RotationLayer, Schedule, Service
from tests.api.conftest import TokenClient, assert_error
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(db):
    return IncidentFactory()


def test_an_admin_assigns_the_ic_by_email(admin_api, incident):
    ic = UserFactory(email="ic@example.com")
    response = admin_api.post(
        f"/api/v1/incidents/{incident.pk}/roles/",
        {"role": "incident_commander", "user": "ic@example.com"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["role"] == "incident_commander" and body["user"]["id"] == ic.pk and body["ended_at"] is None
    assert RoleAssignment.objects.get(incident=incident).user == ic


def test_anyone_may_take_an_empty_role_but_not_give_one(api, user, incident):
    other = UserFactory()
    body = assert_error(
        api.post(
            f"/api/v1/incidents/{incident.pk}/roles/", {"role": "scribe", "user": other.pk}, format="json"
        ),
        403,
        "permission_denied",
    )
    assert "Incident Commander" in body["detail"]
    response = api.post(
        f"/api/v1/incidents/{incident.pk}/roles/", {"role": "scribe", "user": user.pk}, format="json"
    )
    assert response.status_code == 201
    assert RoleAssignment.objects.filter(incident=incident).count() == 1


def test_role_assign_validates_its_input(admin_api, incident):
    assert_error(
        admin_api.post(f"/api/v1/incidents/{incident.pk}/roles/", {"role": "king", "user": 1}, format="json"),
        400,
    )
    body = assert_error(
        admin_api.post(
            f"/api/v1/incidents/{incident.pk}/roles/",
            {"role": "scribe", "user": "ghost@example.com"},
            format="json",
        ),
        400,
    )
    assert "user" in body["errors"]


def test_roles_list_and_release(api, user, incident):
    api.post(f"/api/v1/incidents/{incident.pk}/roles/", {"role": "scribe", "user": user.pk}, format="json")
    assignment = RoleAssignment.objects.get()
    listed = api.get(f"/api/v1/incidents/{incident.pk}/roles/").json()
    assert [a["id"] for a in listed] == [assignment.pk]
    url = f"/api/v1/incidents/{incident.pk}/roles/{assignment.pk}/release/"
    response = api.post(url, {"handover_note": "notes are in the doc"}, format="json")
    assert response.status_code == 200 and response.json()["ended_at"]
    assert_error(api.post(url, {}, format="json"), 409)


def test_someone_else_cannot_release_a_role(outsider_api, user, incident):
    assignment = RoleAssignment.objects.create(incident=incident, role=IncidentRole.SCRIBE, user=user)
    url = f"/api/v1/incidents/{incident.pk}/roles/{assignment.pk}/release/"
    assert_error(outsider_api.post(url, {}, format="json"), 403)
    assignment.refresh_from_db()
    assert assignment.ended_at is None


def test_release_of_another_incidents_assignment_is_404(admin_api, user, incident):
    other = IncidentFactory()
    assignment = RoleAssignment.objects.create(incident=other, role=IncidentRole.SCRIBE, user=user)
    assert_error(admin_api.post(f"/api/v1/incidents/{incident.pk}/roles/{assignment.pk}/release/", {}), 404)


def test_page_a_person_and_acknowledge(api, incident):
    responder = UserFactory()
    response = api.post(
        f"/api/v1/incidents/{incident.pk}/pages/",
        {"user": responder.email, "message": "db is on fire"},
        format="json",
    )
    assert response.status_code == 201, response.content
    page_id = response.json()["id"]
    assert [p["id"] for p in api.get(f"/api/v1/incidents/{incident.pk}/pages/").json()] == [page_id]
    # Only the person paged can acknowledge.
    assert_error(api.post(f"/api/v1/pages/{page_id}/acknowledge/"), 403)
    responder_api = TokenClient(responder)
    ack = responder_api.post(f"/api/v1/pages/{page_id}/acknowledge/")
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
    assert_error(responder_api.post(f"/api/v1/pages/{page_id}/acknowledge/"), 409)


def test_a_page_needs_exactly_one_target(api, user, incident):
    service = Service.objects.create(name="Search")
    body = assert_error(
        api.post(
            f"/api/v1/incidents/{incident.pk}/pages/", {"user": user.pk, "service": service.pk}, format="json"
        ),
        400,
    )
    assert "exactly one" in body["detail"]
    assert_error(api.post(f"/api/v1/incidents/{incident.pk}/pages/", {}, format="json"), 400)
    assert Page.objects.count() == 0


def test_paging_a_service_without_owners_is_a_409_with_the_reason(api, incident):
    service = Service.objects.create(name="Search")
    body = assert_error(
        api.post(f"/api/v1/incidents/{incident.pk}/pages/", {"service": service.pk}, format="json"), 409
    )
    assert "Nobody to page" in body["detail"]


def test_a_page_on_an_invisible_incident_cannot_be_acknowledged(outsider_api, outsider):
    secret = IncidentFactory(is_security=True)
    page = Page.objects.create(incident=secret, target=Page.Target.PERSON, steps=[[outsider.pk]])
    page.notified.add(outsider)
    assert_error(outsider_api.post(f"/api/v1/pages/{page.pk}/acknowledge/"), 404)


def test_services_and_who_is_on_call(api):
    owner = UserFactory()
    Service.objects.create(name="Payments", primary_owner=owner, integration_key="k" * 32)
    services = api.get("/api/v1/services/").json()
    assert services["results"][0]["name"] == "Payments"
    assert services["results"][0]["primary_owner"]["id"] == owner.pk
    assert "integration_key" not in services["results"][0]  # a secret, admin only
    schedule = Schedule.objects.create(name="IC roster", role=IncidentRole.INCIDENT_COMMANDER)
    layer = RotationLayer.objects.create(
        schedule=schedule, start_date=(timezone.now() - timedelta(days=3)).date(), shift_hours=24 * 7
    )
    first, second = UserFactory(), UserFactory()
    LayerMember.objects.create(layer=layer, user=first, position=0)
    LayerMember.objects.create(layer=layer, user=second, position=1)
    oncall = api.get("/api/v1/oncall/").json()
    assert oncall[0]["schedule"] == "IC roster"
    assert {oncall[0]["primary"]["id"], oncall[0]["backup"]["id"]} == {first.pk, second.pk}


@pytest.mark.parametrize(
    "url", ["/api/v1/services/", "/api/v1/oncall/", "/api/v1/components/", "/api/v1/tokens/"]
)
def test_lists_need_a_token(anon_api, url):
    assert_error(anon_api.get(url), 401)
