import pytest

from tests.factories import IncidentFactory, UserFactory


@pytest.fixture
def responder(db):
    return UserFactory(first_name="Rita", last_name="Responder")


@pytest.fixture
def incident(responder):
    return IncidentFactory(declared_by=responder, title="[Outage]: Checkout fails", severity=3)


@pytest.fixture
def security_incident(responder):
    return IncidentFactory(
        declared_by=responder, title="[Security]: Leaked token in logs", severity=2, is_security=True
    )


@pytest.fixture
def rclient(client, responder):
    client.force_login(responder)
    return client


@pytest.fixture
def hx():
    """Headers of a request made by htmx."""
    return {"HX-Request": "true"}
