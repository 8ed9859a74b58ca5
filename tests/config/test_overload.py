"""Overload: a bound on the requests in flight (config/asgi.py), the database pool, and what a page
answers when the database cannot be had (core/middleware.py): slow, then 503 with Retry-After, never a 500.
"""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError
from django.db.backends import utils as db_utils
from django.test import Client

from config.asgi import InFlightLimit, application, django_application
from incidents.models import TimelineEntry
from tests.factories import IncidentFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]
POOL_TIMEOUT = "couldn't get a connection after 2.00 sec"


# --- InFlightLimit, driven as ASGI middleware ----------------------------------------------------


class Inner:
    """A tiny ASGI app: answers 200 once `release` is set; records the paths it started on."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release = asyncio.Event()
        self.fail_on: set[str] = set()

    async def __call__(self, scope, receive, send) -> None:
        self.started.append(scope["path"])
        if scope["path"] in self.fail_on:
            raise RuntimeError("the view broke")
        if not scope["path"].endswith("/quick/"):
            await self.release.wait()
        headers = [(b"content-type", b"text/plain")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})


async def _request(app, path: str) -> dict:
    """One GET through `app`: {"status", "headers", "body"}."""
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return {"status": start["status"], "headers": dict(start["headers"]), "body": body}


@pytest.fixture
def one_at_a_time(settings):
    settings.WEB_MAX_IN_FLIGHT = 1
    settings.WEB_QUEUE_SECONDS = 0.5
    return settings


def test_the_portals_asgi_application_is_django_behind_the_limit():
    assert isinstance(application, InFlightLimit)
    assert application.app is django_application


def test_a_request_past_the_limit_waits_its_turn_and_is_then_served(one_at_a_time):
    one_at_a_time.WEB_QUEUE_SECONDS = 5
    inner = Inner()
    limit = InFlightLimit(inner)

    async def scenario():
        first = asyncio.create_task(_request(limit, "/incidents/1/"))
        await asyncio.sleep(0.05)
        second = asyncio.create_task(_request(limit, "/incidents/2/"))
        await asyncio.sleep(0.2)
        # The second waits: the inner app has not started on it.
        assert inner.started == ["/incidents/1/"]
        assert not second.done()
        inner.release.set()
        return await first, await second

    first, second = asyncio.run(scenario())
    assert (first["status"], second["status"]) == (200, 200)
    assert inner.started == ["/incidents/1/", "/incidents/2/"]


def test_past_the_queue_time_a_request_is_told_to_retry(one_at_a_time):
    inner = Inner()
    limit = InFlightLimit(inner)

    async def scenario():
        first = asyncio.create_task(_request(limit, "/incidents/1/"))
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        began = loop.time()
        refused = await _request(limit, "/incidents/2/")
        waited = loop.time() - began
        inner.release.set()
        return await first, refused, waited

    first, refused, waited = asyncio.run(scenario())
    assert first["status"] == 200
    assert refused["status"] == 503
    assert refused["headers"][b"retry-after"] == b"5"
    assert b"retry" in refused["body"]
    assert int(refused["headers"][b"content-length"]) == len(refused["body"])
    # It queued for WEB_QUEUE_SECONDS before giving up, and never reached the app.
    assert waited >= 0.45
    assert inner.started == ["/incidents/1/"]


def test_streams_do_not_count_against_the_limit(one_at_a_time):
    inner = Inner()
    inner.release.set()
    blocker = Inner()
    limit = InFlightLimit(inner)

    async def scenario():
        # A slow page holds the only place...
        limit.app = blocker
        page = asyncio.create_task(_request(limit, "/incidents/1/"))
        await asyncio.sleep(0.05)
        limit.app = inner
        # ...and the streams still open at once, while another page is refused.
        streams = [
            await _request(limit, path)
            for path in ("/incidents/7/events/", "/incidents/events/", "/comms/notifications/events/")
        ]
        refused = await _request(limit, "/incidents/quick/")
        blocker.release.set()
        await page
        return streams, refused

    streams, refused = asyncio.run(scenario())
    assert [s["status"] for s in streams] == [200, 200, 200]
    assert refused["status"] == 503


def test_a_request_that_fails_gives_its_place_back(one_at_a_time):
    inner = Inner()
    inner.fail_on = {"/incidents/broken/"}
    limit = InFlightLimit(inner)

    async def scenario():
        with pytest.raises(RuntimeError):
            await _request(limit, "/incidents/broken/")
        return await _request(limit, "/incidents/quick/")

    assert asyncio.run(scenario())["status"] == 200


def test_lifespan_and_other_scopes_pass_through(one_at_a_time):
    seen = []

    async def inner(scope, receive, send):
        seen.append(scope["type"])

    limit = InFlightLimit(inner)
    asyncio.run(limit({"type": "lifespan"}, None, None))
    assert seen == ["lifespan"]


# --- A page when the database cannot be had ------------------------------------------------------


@pytest.fixture
def database_unavailable(monkeypatch):
    """From here on every query fails as a pool timeout does (psycopg_pool.PoolTimeout, wrapped)."""

    def refuse(self, sql, *args, **kwargs):
        raise OperationalError(POOL_TIMEOUT)

    def start():
        monkeypatch.setattr(db_utils.CursorWrapper, "_execute", refuse)

    def stop():
        monkeypatch.undo()

    return start, stop


def _assert_told_to_retry(response) -> None:
    assert response.status_code == 503, response.status_code
    assert response["Retry-After"] == "5"
    text = response.content.decode()
    assert "retry in a few seconds" in text
    assert "2.00 sec" not in text  # the error's details stay in the log


@pytest.mark.django_db
def test_a_page_whose_database_pool_is_exhausted_is_a_503_to_retry(database_unavailable):
    user = UserFactory()
    incident = IncidentFactory(declared_by=user)
    browser = Client(raise_request_exception=False)
    browser.force_login(user)
    start, _ = database_unavailable
    start()
    for path in ("/", "/incidents/", incident.get_absolute_url()):
        _assert_told_to_retry(browser.get(path))


@pytest.mark.django_db
def test_a_note_posted_while_the_database_is_unavailable_is_a_503_and_writes_nothing(database_unavailable):
    user = UserFactory()
    incident = IncidentFactory(declared_by=user)
    browser = Client(raise_request_exception=False)
    browser.force_login(user)
    entries = TimelineEntry.objects.count()
    start, stop = database_unavailable
    start()
    response = browser.post(f"{incident.get_absolute_url()}timeline/", {"kind": "note", "body": "lost?"})
    stop()
    _assert_told_to_retry(response)
    assert TimelineEntry.objects.count() == entries


@pytest.mark.django_db
def test_a_database_error_in_a_middleware_before_the_view_is_a_503_too(database_unavailable, settings):
    # With two factors required, a middleware asks the database about the person before any view runs.
    settings.ACCOUNTS_MFA_REQUIRED_FOR_ADMINS = True
    admin = UserFactory(is_staff=True)
    browser = Client(raise_request_exception=False)
    browser.force_login(admin)
    start, _ = database_unavailable
    start()
    _assert_told_to_retry(browser.get("/incidents/"))


# --- The pool, from the environment ---------------------------------------------------------------


def _settings_in_a_process(**env: str) -> dict:
    """config.settings imported in a fresh process with `env`: its DATABASES["default"]."""
    code = (
        "import json, django\n"
        "from django.conf import settings\n"
        "db = settings.DATABASES['default']\n"
        "pool = db.get('OPTIONS', {}).get('pool')\n"
        "if isinstance(pool, dict):\n"
        "    pool = {**pool, 'check': getattr(pool.get('check'), '__qualname__', None)}\n"
        "print(json.dumps({'engine': db['ENGINE'], 'conn_max_age': db['CONN_MAX_AGE'],\n"
        "                  'health_checks': db.get('CONN_HEALTH_CHECKS'), 'pool': pool,\n"
        "                  'test_name': db.get('TEST', {}).get('NAME')}))\n"
    )
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DB_", "DATABASE_URL", "TEST_DB_SUFFIX", "REDIS_URL"))
    }
    environ.update({"DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1", **env})
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


POSTGRES = "postgres://coolhead@db.example:5432/coolhead"


def test_postgresql_gets_a_pool_sized_from_the_environment():
    db = _settings_in_a_process(
        DATABASE_URL=POSTGRES,
        DB_POOL_MIN_SIZE="3",
        DB_POOL_MAX_SIZE="7",
        DB_POOL_TIMEOUT="4",
        TEST_DB_SUFFIX="_x",
    )
    assert db["engine"] == "django.db.backends.postgresql"
    check = "ConnectionPool.check_connection"
    assert db["pool"] == {"min_size": 3, "max_size": 7, "timeout": 4, "check": check}
    # The pool owns the connections: Django neither keeps nor health-checks its own.
    assert db["conn_max_age"] == 0
    assert db["health_checks"] is False
    assert db["test_name"] == "test_coolhead_x"


def test_the_pools_defaults_and_a_minimum_never_above_the_maximum():
    assert _settings_in_a_process(DATABASE_URL=POSTGRES)["pool"] == {
        "min_size": 2,
        "max_size": 10,
        "timeout": 2,
        "check": "ConnectionPool.check_connection",
    }
    small = _settings_in_a_process(DATABASE_URL=POSTGRES, DB_POOL_MIN_SIZE="5", DB_POOL_MAX_SIZE="1")
    assert (small["pool"]["min_size"], small["pool"]["max_size"]) == (1, 1)


def test_without_the_pool_each_connection_is_kept_and_checked():
    db = _settings_in_a_process(DATABASE_URL=POSTGRES, DB_POOL="0", DB_CONN_MAX_AGE="30")
    assert db["pool"] is None
    assert (db["conn_max_age"], db["health_checks"]) == (30, True)


def test_sqlite_has_no_pool():
    db = _settings_in_a_process(DATABASE_URL="sqlite:////tmp/coolhead-pool.sqlite3", DB_POOL_MAX_SIZE="7")
    assert db["engine"] == "django.db.backends.sqlite3"
    assert db["pool"] is None


def test_a_pool_size_that_is_not_a_number_fails_loudly():
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "DATABASE_URL"))}
    environ.update({"DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1"})
    environ.update({"DATABASE_URL": POSTGRES, "DB_POOL_MAX_SIZE": "ten"})
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "DB_POOL_MAX_SIZE" in done.stderr
