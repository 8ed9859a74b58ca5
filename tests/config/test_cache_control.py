"""What a signed-in person is shown is kept by no cache; the public status page keeps its public headers."""

import pytest
from django.test import Client

from statuspage.models import PageSettings
from tests.api.conftest import TokenClient
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def directives(response) -> set[str]:
    return {part.strip().lower() for part in response.headers.get("Cache-Control", "").split(",") if part}


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/incidents/",
        "/incidents/{number}/",
        "/oncall/",
        "/settings/api-tokens/",
        "/comms/notifications/",
    ],
)
def test_signed_in_pages_are_private_and_not_stored(responder_client, user, url):
    incident = IncidentFactory(declared_by=user)
    response = responder_client.get(url.format(number=incident.number))
    assert response.status_code == 200
    assert {"private", "no-store"} <= directives(response)
    assert "public" not in directives(response)


def test_the_live_room_poll_keeps_no_cache_and_gains_no_store(responder_client, user):
    incident = IncidentFactory(declared_by=user)
    response = responder_client.get(f"/incidents/{incident.number}/poll/", {"revision": 0})
    assert {"no-cache", "private", "no-store"} <= directives(response)


def test_api_answers_to_a_token_are_private_and_not_stored(user):
    response = TokenClient(user).get("/api/v1/incidents/")
    assert response.status_code == 200
    assert {"private", "no-store"} <= directives(response)


def test_anonymous_pages_are_left_alone(client):
    response = client.get("/api/v1/schema/")
    assert response.status_code == 200
    assert "no-store" not in directives(response)


def test_the_public_status_page_keeps_its_public_caching_for_a_signed_in_visitor(
    client, user, settings, tmp_path
):
    settings.STATUSPAGE_SNAPSHOT_DIR = tmp_path / "statuspage"
    PageSettings.objects.create(pk=1, name="Acme", url="https://status.acme.test", time_zone="Etc/UTC")
    client.force_login(user)
    for url in ("/status/", "/status/api/v2/summary.json"):
        response = client.get(url)
        assert response.status_code == 200
        assert "public" in directives(response) and "no-store" not in directives(response)
        assert "private" not in directives(response)
        assert "cookie" not in response.headers.get("Vary", "").lower()
    anonymous = Client().get("/status/")
    assert "public" in directives(anonymous)
