import pytest
from rest_framework.test import APIClient

from accounts.services import api_token_issue
from tests.factories import UserFactory


class TokenClient(APIClient):
    """An API client that sends `Authorization: Bearer <token>` for the given person."""

    def __init__(self, user=None, **kwargs):
        super().__init__(**kwargs)
        self.user = user
        if user is not None:
            _, token = api_token_issue(user=user, name="tests")
            self.token = token
            self.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def anon_api(db):
    return APIClient()


@pytest.fixture
def api(user):
    return TokenClient(user)


@pytest.fixture
def outsider(db):
    return UserFactory()


@pytest.fixture
def outsider_api(outsider):
    return TokenClient(outsider)


@pytest.fixture
def admin_api(admin_user):
    return TokenClient(admin_user)


@pytest.fixture
def make_api(db):
    return TokenClient


def assert_error(response, status: int, code: str | None = None) -> dict:
    """Every API error has the same shape."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"detail", "code", "errors"}, body
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], dict)
    if code is not None:
        assert body["code"] == code, body
    return body
