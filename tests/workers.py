"""A real Celery worker as a subprocess, sharing the test database, for integration tests.

pytest's SQLite database lives in one process, so these tests need PostgreSQL
and Redis (DATABASE_URL and REDIS_URL; CI sets both): use `needs_real_worker`.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]

needs_real_worker = [
    pytest.mark.redis,
    pytest.mark.realclock,
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs a real Redis: set REDIS_URL (CI does)"),
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
        reason="the worker subprocess must share the test database: needs PostgreSQL (DATABASE_URL)",
    ),
]


def test_database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


def start_worker(log: Path, **environment: str) -> subprocess.Popen:
    """One solo worker on the test database and Redis; `environment` overrides settings."""
    env = os.environ | {
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": "integration-test-secret-key-0123456789abcdef-0123456789",
        "DB_CONN_MAX_AGE": "0",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DEBUG", None)
    env.pop("EMAIL_HOST", None)
    env.update(environment)
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


def stop_worker(worker: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, sig)
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=5)
