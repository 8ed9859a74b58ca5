"""A real Celery worker on Redis escalates an unacknowledged page at its due time.

The worker runs as a subprocess against the same PostgreSQL test database, so
this needs REDIS_URL and DATABASE_URL (CI sets both). Bounded: about 10 seconds.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.celery import app as celery_app
from roles.models import Page, Service
from roles.services import page_send
from roles.tasks import page_escalate
from tests.factories import IncidentFactory
from tests.roles.conftest import person

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs a real Redis: set REDIS_URL (CI does)"),
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
        reason="the worker subprocess must share the test database: needs PostgreSQL (DATABASE_URL)",
    ),
]


def _database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _start_worker(log: Path) -> subprocess.Popen:
    env = os.environ | {
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": "roles-integration-test-secret-key-0123456789abcdef",
        "DB_CONN_MAX_AGE": "0",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DEBUG", None)
    env.pop("EMAIL_HOST", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "-l",
            "warning",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
        start_new_session=True,
    )


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=5)


@pytest.mark.django_db(transaction=True)
def test_the_worker_escalates_at_the_due_time_and_ignores_stale_runs(tmp_path):
    celery_app.conf.task_always_eager = False  # the autouse fixture turns it back on
    celery_app.control.purge()
    first, second = person("First Owner"), person("Second Owner")
    service = Service.objects.create(name="Checkout", primary_owner=first, secondary_owner=second)
    incident = IncidentFactory(declared_by=person("Dee Clarer"), severity=1)
    page = page_send(incident=incident, by=None, service=service)  # its countdown task is 5 minutes away
    # Due in 3 seconds instead; a run that arrives now is early and waits for the due time.
    due = timezone.now() + timedelta(seconds=3)
    Page.objects.filter(pk=page.pk).update(escalates_at=due)
    token = str(page.escalation_token)
    page_escalate.apply_async((page.pk, token))
    page_escalate.apply_async((page.pk, "00000000-0000-0000-0000-000000000000"))  # stale: nothing

    log = tmp_path / "worker.log"
    worker = _start_worker(log)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            page.refresh_from_db()
            if page.level == 1:
                break
            time.sleep(0.2)
        assert page.level == 1, log.read_text(errors="replace")[-3000:]
        assert timezone.now() >= due
        assert sorted(u.first_name for u in page.notified.all()) == ["First", "Second"]
        # The early run and the rescheduled one escalated once between them.
        time.sleep(1)
        page.refresh_from_db()
        assert page.level == 1 and page.status == Page.Status.TRIGGERED
        assert incident.timeline.filter(body__startswith="Page escalated to Second Owner").count() == 1
    finally:
        _stop(worker)
        celery_app.control.purge()
