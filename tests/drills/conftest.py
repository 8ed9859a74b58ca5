"""The drill stack: own Redis, PostgreSQL through a proxy, gunicorn, a Celery worker, SMTP and HTTP receivers.

`make drills` runs these (marker `drill`); `make test` leaves them out. They
need PostgreSQL at DATABASE_URL (the test database is created next to it, as
for the rest of the suite) and a free port for the drills' own redis-server,
given as REDIS_URL=redis://127.0.0.1:<port>/0 (the Makefile uses
DRILL_REDIS_PORT, 6393 by default). Nothing else on the machine is stopped.
"""

import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import setup_databases, teardown_databases

from tests.comms.smtp_sink import Sink, SinkServer
from tests.drills.harness import (
    ROOT,
    Browser,
    Receiver,
    RedisServer,
    TcpProxy,
    celery_worker,
    free_port,
    gunicorn,
    tail,
    wait_until,
)

PASSWORD = "drill-password-4f8a1c"

# What the drills set for the portal's processes: short grace periods, so that
# recovery shows within seconds (production: a minute or two, see the README).
PORTAL_SETTINGS = {
    "COMMS_STRANDED_AFTER_SECONDS": "2",
    "COMMS_SENDING_LEASE_SECONDS": "6",
    "COMMS_RETRY_BASE_SECONDS": "1",
    "COMMS_RETRY_MAX_SECONDS": "2",
    "COMMS_MAX_ATTEMPTS": "4",
    "STATUSPAGE_LOST_FAN_OUT_AFTER_SECONDS": "3",
    "COMMS_EMAIL_BATCH_SIZE": "10",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drills run only when asked for by marker (`-m drill`), whatever else -m says."""
    if "drill" in (config.option.markexpr or "") and "not drill" not in config.option.markexpr:
        return
    here = Path(__file__).parent
    keep = [item for item in items if here not in Path(str(item.fspath)).parents]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in keep])
        items[:] = keep


# --- The suite's autouse fixtures, as the drills need them --------------------------------------


@pytest.fixture(autouse=True)
def fresh_cache():
    """The portal's cache is the drills' Redis, which the drills stop and freeze themselves."""
    yield


@pytest.fixture(autouse=True)
def eager_celery():
    """Tasks go to the real worker through the drills' Redis."""
    from config.celery import app

    app.conf.task_always_eager = False
    yield


# --- The stack ------------------------------------------------------------------------------------


class Stack:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.logs = tmp / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        redis_url = urlparse(settings.REDIS_URL)
        self.redis = RedisServer(redis_url.port or 6379, tmp / "redis")
        db = connection.settings_dict
        self.proxy = TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
        self.sink = Sink()
        self.smtp = SinkServer(self.sink)
        self.receiver = Receiver()
        self.web_port = free_port()
        self.env = self._portal_env()
        self.web = gunicorn(self.env, self.web_port, self.logs / "web.log")
        self.worker = celery_worker(self.env, self.logs / "worker.log")
        self.token = ""
        self.admin_email = ""
        self.integration_key = ""

    def _portal_env(self) -> dict[str, str]:
        db = connection.settings_dict
        auth = quote(db["USER"] or "") + (":" + quote(db["PASSWORD"]) if db["PASSWORD"] else "")
        (self.tmp / "drill_settings.py").write_text(
            f"from config.settings import *  # noqa: F403\nSTATIC_ROOT = {str(self.tmp / 'static')!r}\n"
        )
        env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SITE_URL", "EMAIL_BACKEND")}
        env.update(
            DJANGO_SETTINGS_MODULE="drill_settings",
            PYTHONPATH=f"{self.tmp}{os.pathsep}{ROOT}",
            SECRET_KEY="drill-secret-key-" + "k" * 50,
            DEBUG="0",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SITE_URL=f"http://127.0.0.1:{self.web_port}",
            DATABASE_URL=f"postgres://{auth}@127.0.0.1:{self.proxy.port}/{db['NAME']}",
            REDIS_URL=settings.REDIS_URL,
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(self.smtp.port),
            EMAIL_USE_TLS="0",
            EMAIL_TIMEOUT="5",
            OUTBOUND_ALLOWED_HOSTS="127.0.0.1",
            COOLHEAD_RUN_DIR=str(self.tmp / "run"),
            STATUSPAGE_SNAPSHOT_DIR=str(self.tmp / "run" / "statuspage"),
            LOG_LEVEL="INFO",
            **PORTAL_SETTINGS,
        )
        return env

    # Each fault is undone before the next drill, whatever happened in the last one.
    def heal(self) -> None:
        if self.redis.process is None:
            self.redis.start()
        elif self.redis.frozen:
            self.redis.thaw()
        if not self.proxy.running:
            self.proxy.start()
        if not self.worker.alive():
            self.start_worker()
        if not self.web.alive():
            self.start_web()
        self.receiver.state.received.clear()
        self.receiver.state.counts.clear()

    def start_web(self) -> None:
        self.web.start()
        wait_until(
            lambda: _healthz(self.web_port),
            60,
            "gunicorn to answer /healthz",
            on_timeout=lambda: tail(self.web.log),
        )

    def start_worker(self) -> None:
        mark = self.worker.log.stat().st_size if self.worker.log.exists() else 0
        self.worker.start()
        wait_until(
            lambda: " ready." in self.worker.log.read_text(errors="replace")[mark:],
            60,
            "the Celery worker to be ready",
            on_timeout=lambda: tail(self.worker.log),
        )

    def browser(self, token: str | None = None) -> Browser:
        return Browser(self.web_port, token=token)

    def api(self) -> Browser:
        return Browser(self.web_port, token=self.token)

    def logs_tail(self) -> str:
        return "\n".join(f"--- {p.name}\n{tail(p, 3000)}" for p in sorted(self.logs.iterdir()))


def _healthz(port: int) -> bool:
    import http.client

    try:
        connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection_.request("GET", "/healthz")
        return connection_.getresponse().status == 200
    except OSError:
        return False


def _seed(stack: Stack) -> None:
    """An administrator with an API token, the status page, and a service with owners."""
    from django.contrib.auth import get_user_model

    from accounts.services import api_token_issue
    from roles.models import Service
    from statuspage.models import Component, PageSettings

    user_model = get_user_model()
    admin = user_model.objects.create_superuser(
        username="drill-admin", email="drill-admin@example.com", password=PASSWORD, first_name="Dee"
    )
    owner = user_model.objects.create_user(
        username="drill-owner", email="drill-owner@example.com", password=PASSWORD, first_name="Oona"
    )
    _, stack.token = api_token_issue(user=admin, name="drills")
    stack.admin_email = admin.email
    PageSettings.objects.update_or_create(
        pk=1, defaults={"name": "Drill", "url": "https://status.drill.test"}
    )
    Component.objects.get_or_create(name="Checkout", defaults={"position": 1})
    service = Service.objects.create(name="Drill service", primary_owner=owner, secondary_owner=admin)
    stack.integration_key = service.integration_key


@pytest.fixture(scope="session", autouse=True)
def quiet_smtp_log():
    logging.getLogger("mail.log").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def stack(django_test_environment, django_db_blocker, tmp_path_factory):
    if connection.vendor != "postgresql":
        pytest.fail("The drills need PostgreSQL: set DATABASE_URL (make drills does).")
    if urlparse(settings.REDIS_URL).hostname not in ("127.0.0.1", "localhost"):
        pytest.fail(
            "The drills start their own Redis: REDIS_URL=redis://127.0.0.1:<free port>/0 (make drills)."
        )
    started = time.monotonic()
    with django_db_blocker.unblock():
        # The test database, as for the rest of the suite (pytest-django sets one up only
        # for tests marked django_db, whose transactions the portal's processes could not see).
        databases = setup_databases(verbosity=0, interactive=False, aliases={"default"})
        stack = Stack(tmp_path_factory.mktemp("drills"))
        try:
            stack.redis.start()
            stack.proxy.start()
            stack.smtp.__enter__()
            stack.receiver.__enter__()
            subprocess.run(
                [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
                cwd=ROOT,
                env=stack.env,
                check=True,
            )
            _seed(stack)
            stack.start_web()
            stack.start_worker()
            print(f"\ndrill stack up in {time.monotonic() - started:.1f} s (logs: {stack.logs})")
            yield stack
        finally:
            stack.worker.stop()
            stack.web.stop()
            stack.proxy.stop()
            if stack.receiver.thread.is_alive():
                stack.receiver.__exit__(None, None, None)
            stack.smtp.controller.stop(no_assert=True)
            stack.redis.stop()
            connection.close()
            teardown_databases(databases, verbosity=0)


@pytest.fixture
def drill(stack, django_db_blocker, request):
    """Database access for the drill's own checks, and a healthy stack before and after it."""
    with django_db_blocker.unblock():
        stack.heal()
        yield stack
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print(stack.logs_tail())
        stack.heal()
        connection.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def beat_tick() -> None:
    """What beat sends every minute (config/celery.py), sent now; ignored while the broker is down."""
    from config.celery import app

    for entry in app.conf.beat_schedule.values():
        try:
            app.send_task(entry["task"], retry=False)
        except Exception:  # noqa: BLE001 - beat logs and tries again next time; so do we
            return


def recover(
    predicate, *, within: float, what: str, stack: Stack, tick_every: float = 1.0, detail=None
) -> float:
    """Tick like beat until `predicate()` holds; returns the seconds it took. A bounded loop."""
    started = time.monotonic()
    deadline = started + within
    while True:
        beat_tick()
        if predicate():
            return time.monotonic() - started
        if time.monotonic() > deadline:
            more = detail() if detail else ""
            raise AssertionError(f"not recovered within {within:g} s: {what}\n{more}\n{stack.logs_tail()}")
        time.sleep(tick_every)
