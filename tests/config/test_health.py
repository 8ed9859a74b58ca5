"""Health endpoints for the load balancer and the container orchestrator."""

import json
import threading
import time

from config import health


def test_healthz_answers_without_login(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response.headers["Content-Type"].startswith("text/plain")


def test_readyz_checks_the_database_the_cache_and_the_broker(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert json.loads(response.content) == {
        "ready": True,
        "checks": {"database": True, "cache": True, "broker": True},
    }
    assert "no-cache" in response.headers["Cache-Control"]


class _DownDatabase:
    def cursor(self):
        raise ConnectionError("database is down")

    def close(self):
        pass


def test_readyz_is_503_naming_the_database_when_it_is_down(client, db, monkeypatch):
    monkeypatch.setattr("config.health.connection", _DownDatabase())
    body = json.loads(client.get("/readyz").content)
    assert body["ready"] is False
    assert body["checks"]["database"] is False
    assert body["down"] == ["database"]
    assert "database is down" in body["errors"]["database"]


def test_readyz_is_503_naming_the_broker_when_it_is_down(client, db, monkeypatch):
    from config.celery import app

    def down(*args, **kwargs):
        raise ConnectionError("broker is down")

    monkeypatch.setattr(app, "connection_for_write", down)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["checks"] == {"database": True, "cache": True, "broker": False}
    assert body["down"] == ["broker"]


def test_readyz_is_503_naming_the_cache_when_it_fails(client, db, monkeypatch):
    class DownCache:
        def get(self, *args, **kwargs):
            raise ConnectionError("cache is down")

    monkeypatch.setattr("config.health.cache", DownCache())
    body = json.loads(client.get("/readyz").content)
    assert body["down"] == ["cache"]


def test_a_check_that_hangs_counts_as_down_and_is_not_started_twice(client, db, monkeypatch):
    """A frozen dependency (it accepts the connection and never answers) must not hold the probe."""
    release = threading.Event()
    started = []

    class FrozenCache:
        def get(self, *args, **kwargs):
            started.append(1)
            release.wait(30)

    monkeypatch.setattr("config.health.cache", FrozenCache())
    try:
        first = client.get("/readyz")
        second = client.get("/readyz")
    finally:
        release.set()
    assert first.status_code == second.status_code == 503
    body = json.loads(second.content)
    assert body["down"] == ["cache"]
    assert "no answer within" in body["errors"]["cache"]
    assert len(started) == 1  # the second probe waited on the same check instead of starting another
    deadline = time.monotonic() + 5
    while not health._running["cache"].done() and time.monotonic() < deadline:
        time.sleep(0.01)
