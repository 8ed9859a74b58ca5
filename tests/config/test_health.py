"""Health endpoints for the load balancer and the container orchestrator."""

import json


def test_healthz_answers_without_login(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response.headers["Content-Type"].startswith("text/plain")


def test_readyz_checks_the_database_and_the_broker(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"ready": True, "checks": {"database": True, "broker": True}}
    assert "no-cache" in response.headers["Cache-Control"]


class _DownDatabase:
    def cursor(self):
        raise ConnectionError("database is down")


def test_readyz_is_503_when_the_database_is_down(client, db, monkeypatch):
    monkeypatch.setattr("config.health.connection", _DownDatabase())
    response = client.get("/readyz")
    assert response.status_code == 503
    assert json.loads(response.content)["checks"]["database"] is False
    assert json.loads(response.content)["ready"] is False


def test_readyz_is_503_when_the_broker_is_down(client, db, settings, monkeypatch):
    from config.celery import app

    def down(*args, **kwargs):
        raise ConnectionError("broker is down")

    monkeypatch.setattr(app, "connection_for_write", down)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert json.loads(response.content) == {"ready": False, "checks": {"database": True, "broker": False}}
