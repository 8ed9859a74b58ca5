"""The embedded mode's fan-out (no REDIS_URL): a change made by another process (the Celery worker,
beat, a shell) reaches the streams of the web process through the shared file cache, which the
web process's hub reads once per watched channel a few times a second, whatever the watchers.
"""

import asyncio
import http.client
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.test import Client

from config.management.commands.runportal import web_command
from core import live
from tests.factories import IncidentFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]


# --- Across processes, as `make run` runs them ----------------------------------------------------


def _database_for_other_processes(tmp_path: Path) -> str:
    """A DATABASE_URL that other processes can open, holding what this test wrote (committed).

    PostgreSQL: the test database itself. SQLite: the test database is in this process's
    memory, so a copy in a file (which then is the one the other processes share).
    """
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        path = tmp_path / "shared.sqlite3"
        connection.ensure_connection()
        target = sqlite3.connect(path)
        with target:
            connection.connection.backup(target)
        target.close()
        return f"sqlite:///{path}"
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _embedded_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "REDIS_URL", "TEST_DB_SUFFIX", "DB_", "LIVE_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "1",
            # The file cache (RUN_DIR/cache) is all that the processes share besides the database.
            "COOLHEAD_RUN_DIR": str(tmp_path / "run"),
            "DATABASE_URL": database_url,
        }
    )
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_serving(server: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                assert response.status == 200
                return
        except (urllib.error.URLError, ConnectionError):
            assert server.poll() is None, server.stderr.read().decode()
            assert time.monotonic() < deadline, "the web server did not answer in 60 s"
            time.sleep(0.2)


class HttpStream:
    """A server-sent event stream read over a real socket."""

    def __init__(self, port: int, path: str, session: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.connection.request("GET", path, headers={"Cookie": f"sessionid={session}"})
        self.response = self.connection.getresponse()
        assert self.response.status == 200, (self.response.status, self.response.read())
        assert self.response.getheader("Content-Type").startswith("text/event-stream")

    def next_block(self) -> str:
        lines = []
        while True:
            line = self.response.readline().decode()
            if line in ("\n", ""):
                if line == "" and not lines:
                    raise EOFError("the stream ended")
                if lines:
                    return "".join(lines)
                continue
            lines.append(line)

    def next_event(self, name: str, deadline: float) -> str:
        while time.monotonic() < deadline:
            block = self.next_block()
            if f"event: {name}\n" in block:
                return block
        raise TimeoutError(f"no {name!r} event")

    def close(self) -> None:
        self.connection.close()


@pytest.mark.realclock
@pytest.mark.django_db(transaction=True)
def test_an_entry_written_by_another_process_reaches_an_open_stream_through_the_file_cache(tmp_path):
    writer = UserFactory(first_name="Wanda")
    reader = UserFactory()
    incident = IncidentFactory(declared_by=writer)
    browser = Client()
    browser.force_login(reader)
    session = browser.cookies["sessionid"].value
    env = _embedded_env(tmp_path, _database_for_other_processes(tmp_path))
    port = _free_port()
    server = subprocess.Popen(
        web_command(python=sys.executable, host="127.0.0.1", port=port),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    stream = None
    try:
        _wait_until_serving(server, port)
        stream = HttpStream(port, f"/incidents/{incident.number}/events/", session)
        assert "watching from revision" in stream.next_block() + stream.next_block()
        # The worker's way of writing: the service, in a process of its own, then gone.
        code = (
            "from django.contrib.auth import get_user_model\n"
            "from incidents import services\n"
            "from incidents.models import Incident\n"
            f"incident = Incident.objects.get(number={incident.number})\n"
            f"author = get_user_model().objects.get(pk={writer.pk})\n"
            "services.timeline_add(\n"
            "    incident=incident, kind='note', body='Written by the worker', author=author\n"
            ")\n"
        )
        shell = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert shell.returncode == 0, shell.stderr
        written_at = time.monotonic()
        delta = stream.next_event("delta", deadline=written_at + 10)
        assert "Written by the worker" in delta
        # Seen within a few of the hub's cache checks (250 ms), not at the next poll.
        assert time.monotonic() - written_at < 5
    finally:
        if stream is not None:
            stream.close()
        os.killpg(server.pid, 15)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait(timeout=5)
        server.stderr.close()


# The other process writes the cache entry's expiry at the real clock: this one must read it there too.
@pytest.mark.realclock
def test_a_publish_from_another_process_wakes_this_processs_hub(tmp_path, settings):
    # Both processes on the same file cache, as the embedded mode's web server and worker are.
    location = tmp_path / "run" / "cache"
    settings.REDIS_URL = ""
    settings.LIVE_CACHE_CHECK_MS = 50
    backend = "django.core.cache.backends.filebased.FileBasedCache"
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": str(location)}}
    env = _embedded_env(tmp_path, f"sqlite:///{tmp_path / 'unused.sqlite3'}")
    code = "import django; django.setup()\nfrom core import live\nlive.publish('room:42', {'rev': 7})\n"

    async def scenario():
        hub = live.Hub()
        watchers = [hub.subscribe(["room:42"]) for _ in range(3)]
        elsewhere = hub.subscribe(["room:43"])
        await asyncio.sleep(0.2)  # the hub has read the channels once: nothing published yet
        publisher = await asyncio.create_subprocess_exec(sys.executable, "-c", code, cwd=ROOT, env=env)
        assert await asyncio.wait_for(publisher.wait(), 120) == 0
        changed = [await watcher.wait(5) for watcher in watchers]
        assert [c["room:42"]["rev"] for c in changed] == [7, 7, 7]
        assert await elsewhere.wait(0.3) == {}
        for subscription in [*watchers, elsewhere]:
            subscription.close()
        hub._task.cancel()

    asyncio.run(scenario())


# --- One read per watched channel, whatever the watchers -------------------------------------------


def test_the_hub_reads_each_watched_channel_once_per_check_whatever_the_watchers(settings, monkeypatch):
    settings.REDIS_URL = ""
    settings.LIVE_CACHE_CHECK_MS = 50
    reads: list[list[str]] = []
    read_many = live._read_many

    def counting(channels):
        reads.append(sorted(channels))
        return read_many(channels)

    monkeypatch.setattr(live, "_read_many", counting)

    async def scenario():
        hub = live.Hub()
        crowd = [hub.subscribe(["room:1"]) for _ in range(200)]
        crowd += [hub.subscribe(["room:2"]) for _ in range(50)]
        await asyncio.sleep(0.6)
        quiet_checks = len(reads)
        live.publish("room:1", {"rev": 2})
        changed = [await subscription.wait(2) for subscription in crowd[:200]]
        assert all(c["room:1"]["rev"] == 2 for c in changed)
        # The other room's watchers were not woken.
        assert await asyncio.gather(*(s.wait(0.01) for s in crowd[200:])) == [{}] * 50
        for subscription in crowd:
            subscription.close()
        await asyncio.sleep(0.1)
        unwatched = len(reads)
        await asyncio.sleep(0.3)
        hub._task.cancel()
        return quiet_checks, len(reads) - unwatched

    quiet_checks, reads_when_unwatched = asyncio.run(scenario())
    # One read a check (every 50 ms, so at most 12 in 0.6 s) for 250 watchers, naming each room once.
    assert 1 <= quiet_checks <= 13, quiet_checks
    assert all(channels == ["room:1", "room:2"] for channels in reads[:quiet_checks])
    # Nothing watched any more: no read at all.
    assert reads_when_unwatched == 0
