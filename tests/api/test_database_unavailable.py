"""The API while the database is down or cut off: a 503 in the error format that says "retry", not a 500."""

from django.db import InterfaceError, OperationalError

from tests.api.conftest import assert_error


def _down(exc):
    def raise_(*args, **kwargs):
        raise exc

    return raise_


def test_a_write_while_the_database_is_unreachable_is_a_503_to_retry(api, monkeypatch):
    monkeypatch.setattr(
        "incidents.services.incident_declare",
        _down(OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')),
    )
    response = api.post("/api/v1/incidents/", {"title": "Checkout fails", "severity": 3}, format="json")
    body = assert_error(response, 503, "unavailable")
    assert "retry" in body["detail"]
    assert response.headers["Retry-After"] == "5"
    assert "5432" not in response.content.decode()  # the connection details stay in the log


def test_a_connection_cut_mid_request_is_a_503_too(api, monkeypatch):
    monkeypatch.setattr(
        "incidents.services.incident_declare", _down(InterfaceError("connection already closed"))
    )
    response = api.post("/api/v1/incidents/", {"title": "Checkout fails", "severity": 3}, format="json")
    assert_error(response, 503, "unavailable")
