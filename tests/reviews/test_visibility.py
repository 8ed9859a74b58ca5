"""A restricted incident's review, follow-ups and counts: its participants and admins only, everywhere."""

import pytest
from django.test import Client

from accounts.services import api_token_issue
from incidents.services import incident_change_status, incident_declare
from reviews.services import follow_up_create, review_start, review_write
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def secret(user):
    incident = incident_declare(
        title="Credential leak", severity=3, declared_by=user, is_security=True, rollback_considered="No"
    )
    incident_change_status(incident=incident, status="resolved", by=user)
    review = review_start(incident=incident, by=user)
    review_write(review=review, by=user, sections={"summary": "SECRET-SUMMARY"})
    follow_up = follow_up_create(incident=incident, by=user, title="SECRET-FOLLOW-UP", owner=user)
    return {"incident": incident, "review": review, "follow_up": follow_up}


def _client(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def _token_client(person) -> Client:
    _token, raw = api_token_issue(user=person, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


PAGES = [
    "/incidents/{number}/review/",
    "/incidents/{number}/review/export.md",
    "/incidents/{number}/review/print/",
    "/follow-ups/{follow_up}/",
]
LISTS = ["/reviews/?view=all", "/follow-ups/?view=all&state=", "/", "/insights/?days=30"]


def test_an_outsider_sees_nothing_of_it_anywhere(secret, outsider):
    client = _client(outsider)
    ids = {"number": secret["incident"].number, "follow_up": secret["follow_up"].pk}
    for path in PAGES:
        assert client.get(path.format(**ids)).status_code == 404, path
    for path in LISTS:
        body = client.get(path).content.decode()
        assert "SECRET" not in body and "Credential leak" not in body, path
    for kind in ("incidents", "follow-ups", "reviews", "pages"):
        body = b"".join(client.get(f"/insights/{kind}.csv?days=30").streaming_content).decode()
        assert secret["incident"].reference not in body, kind
    api = _token_client(outsider)
    pk = secret["incident"].pk
    assert api.get(f"/api/v1/incidents/{pk}/review/").status_code == 404
    assert api.get(f"/api/v1/incidents/{pk}/review/export/").status_code == 404
    assert api.get(f"/api/v1/follow-ups/{secret['follow_up'].pk}/").status_code == 404
    assert api.get("/api/v1/follow-ups/").json()["count"] == 0
    insights = api.get("/api/v1/insights/?days=30").json()
    assert insights["incident_count"] == 0 and insights["follow_ups"]["created"] == 0
    assert insights["reviews"]["total"] == 0


def test_a_participant_and_an_admin_see_it(secret, user, admin_user):
    for person in (user, admin_user):
        client = _client(person)
        number = secret["incident"].number
        assert b"SECRET-SUMMARY" in client.get(f"/incidents/{number}/review/").content
        assert b"SECRET-FOLLOW-UP" in client.get("/follow-ups/?view=all&state=").content
        api = _token_client(person)
        data = api.get("/api/v1/insights/?days=30").json()
        assert data["incident_count"] == 1 and data["reviews"]["total"] == 1


def test_the_dashboard_lists_my_open_follow_ups(secret, user):
    body = _client(user).get("/").content.decode()
    assert "My open follow-ups" in body and "SECRET-FOLLOW-UP" in body
    other = UserFactory()
    assert "My open follow-ups" not in _client(other).get("/").content.decode()
