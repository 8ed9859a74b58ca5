import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import ApiToken
from accounts.services import api_token_issue, api_token_revoke
from tests.api.conftest import TokenClient, assert_error
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_it_stores_only_the_hash(user):
    row, token = api_token_issue(user=user, name="deploy bot")
    assert token.startswith("chk_") and len(token) > 40
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = ApiToken.objects.filter(pk=row.pk).values()[0]
    assert token not in [str(v) for v in stored.values()]
    assert row.prefix == token[:10]


def test_it_authenticates_and_records_last_use(user):
    client = TokenClient(user)
    assert ApiToken.objects.get(user=user).last_used_at is None
    response = client.get("/api/v1/incidents/")
    assert response.status_code == 200
    assert ApiToken.objects.get(user=user).last_used_at is not None


def test_it_answers_401_without_a_token(anon_api):
    response = anon_api.get("/api/v1/incidents/")
    body = assert_error(response, 401, "not_authenticated")
    assert "credentials" in body["detail"].lower()
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_answers_401_for_an_unknown_token(anon_api):
    anon_api.credentials(HTTP_AUTHORIZATION="Bearer chk_not-a-real-token")
    assert_error(anon_api.get("/api/v1/incidents/"), 401, "authentication_failed")


def test_it_refuses_a_revoked_token(user):
    client = TokenClient(user)
    api_token_revoke(token=ApiToken.objects.get(user=user), by=user)
    assert_error(client.get("/api/v1/incidents/"), 401, "authentication_failed")


def test_it_refuses_an_expired_token(user):
    client = TokenClient(user)
    ApiToken.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(client.get("/api/v1/incidents/"), 401)


def test_it_refuses_the_token_of_a_deactivated_user(user):
    client = TokenClient(user)
    user.is_active = False
    user.save()
    assert_error(client.get("/api/v1/incidents/"), 401)


def test_a_person_cannot_revoke_someone_elses_token(user, outsider_api):
    row, _ = api_token_issue(user=user, name="mine")
    assert_error(outsider_api.post(f"/api/v1/tokens/{row.pk}/revoke/"), 404)
    assert ApiToken.objects.get(pk=row.pk).revoked_at is None


def test_tokens_api_creates_shows_once_and_revokes(api):
    response = api.post("/api/v1/tokens/", {"name": "ci"}, format="json")
    assert response.status_code == 201
    token = response.json()["token"]
    listed = api.get("/api/v1/tokens/").json()
    assert all("token" not in item and "token_hash" not in item for item in listed)
    row = ApiToken.objects.get(name="ci")
    assert api.post(f"/api/v1/tokens/{row.pk}/revoke/").status_code == 200
    assert_error(api.post(f"/api/v1/tokens/{row.pk}/revoke/"), 409)
    other = TokenClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_error(other.get("/api/v1/incidents/"), 401)


def test_the_command_prints_a_working_token_once(db):
    person = UserFactory(username="scripter")
    out = StringIO()
    call_command("issue_api_token", "scripter", "--name", "nightly", stdout=out)
    token = out.getvalue().strip().splitlines()[-1].strip()
    row = ApiToken.objects.get(user=person)
    assert row.name == "nightly"
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    client = TokenClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/incidents/").status_code == 200


def test_the_command_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match="nobody"):
        call_command("issue_api_token", "nobody", stdout=StringIO())


def test_settings_page_lists_creates_and_revokes(responder_client, user):
    page = responder_client.get("/settings/api-tokens/")
    assert page.status_code == 200
    assert b"API tokens" in page.content
    created = responder_client.post("/settings/api-tokens/", {"name": "laptop script"})
    assert created.status_code == 200
    row = ApiToken.objects.get(user=user, name="laptop script")
    # The token is on this one answer, and nowhere after.
    text = created.content.decode()
    assert row.prefix in text and "chk_" in text
    again = responder_client.get("/settings/api-tokens/").content.decode()
    assert "laptop script" in again and "Never used" in again
    revoked = responder_client.post(f"/settings/api-tokens/{row.pk}/revoke/")
    assert revoked.status_code == 302
    assert ApiToken.objects.get(pk=row.pk).revoked_at is not None


def test_settings_page_needs_a_signed_in_person(client, db):
    response = client.get("/settings/api-tokens/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_settings_page_cannot_revoke_someone_elses_token(responder_client, outsider):
    row, _ = api_token_issue(user=outsider, name="theirs")
    assert responder_client.post(f"/settings/api-tokens/{row.pk}/revoke/").status_code == 404
    assert ApiToken.objects.get(pk=row.pk).revoked_at is None


def test_every_page_links_to_the_token_settings(responder_client):
    assert b'href="/settings/api-tokens/"' in responder_client.get("/").content
