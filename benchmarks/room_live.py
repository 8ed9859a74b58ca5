"""How fast the live incident room reaches a crowd, over server-sent events and over polling.

On the production server configuration (gunicorn with uvicorn workers serving
config.asgi, DEBUG=0, PostgreSQL with the connection pool, Redis pub/sub), this
script opens N watchers (default 500, each a signed-in person with a session of
their own) on one incident room:

  1. stream: each holds /incidents/<n>/events/ open (what a browser does);
  2. poll:   each asks /incidents/<n>/poll/?rev= every INCIDENT_ROOM_POLL_MS (the fallback);

and in each phase posts entries through the REST API, one a second, then reports,
per phase: how many watchers got every entry, the delivery latency (from the
API's 201 to the moment the watcher had the entry) p50/p95/max over every
(watcher, entry), errors (any answer but 200/204, a refused or dropped
connection, an entry never received), the server's CPU seconds (user + system
of gunicorn and its workers), the peak number of PostgreSQL connections
(pg_stat_activity, sampled every 50 ms), and the queries the server ran while
the watchers sat idle (pg_stat_database's transactions; autocommit makes each
query one), all on this one machine with the watchers in the same 2 cores.

Run from a fresh clone (PostgreSQL and Redis on 127.0.0.1; the database is the
script's own: it is migrated and written to):

    git clone /work/main /tmp/x && cd /tmp/x && make install && \\
    psql -h 127.0.0.1 -U postgres -c 'DROP DATABASE IF EXISTS bench_room_live' \\
        -c 'CREATE DATABASE bench_room_live' && \\
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_room_live REDIS_URL=redis://127.0.0.1:6379/12 \\
        .venv/bin/python benchmarks/room_live.py

Options: --watchers 1000, --entries 10, --phases stream,poll, --workers 2 (gunicorn
workers), --pool 10 (DB_POOL_MAX_SIZE per worker), --port 8799.
"""

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
    sys.exit("Set DATABASE_URL (a PostgreSQL database of its own) and REDIS_URL: see the docstring.")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")
# The sessions made here must be the server's: the same key signs them.
SECRET_KEY = os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
# This process only prepares the data and samples pg_stat_activity: no pool of its own.
os.environ["DB_POOL"] = "0"
os.environ["DB_CONN_MAX_AGE"] = "0"

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402

from accounts.services import api_token_issue  # noqa: E402
from config.sessions import SessionStore  # noqa: E402
from incidents import services  # noqa: E402
from incidents.models import Incident  # noqa: E402

User = get_user_model()


# --- Preparing ---------------------------------------------------------------------------------


def prepare(watchers: int) -> tuple[int, int, str, list[str]]:
    """The incident (id, number), an API token, and one session key per watcher."""
    # No collectstatic: watchers and the API render no page that names a static file.
    call_command("migrate", verbosity=0)
    run = secrets.token_hex(3)
    poster = User.objects.create_user(f"poster-{run}", f"poster-{run}@example.com", None, first_name="Poster")
    _, token = api_token_issue(user=poster, name="room_live benchmark")
    incident = services.incident_declare(title=f"[Bench]: room_live {run}", severity=3, declared_by=poster)
    people = User.objects.bulk_create(
        User(username=f"watcher-{run}-{i}", email=f"w{i}-{run}@example.com", password="!", first_name=f"W{i}")
        for i in range(watchers)
    )
    keys = []
    backend = settings.AUTHENTICATION_BACKENDS[0]
    for person in people:
        session = SessionStore()
        session[SESSION_KEY] = str(person.pk)
        session[BACKEND_SESSION_KEY] = backend
        session[HASH_SESSION_KEY] = person.get_session_auth_hash()
        session.create()
        keys.append(session.session_key)
    connections.close_all()
    return incident.pk, incident.number, token, keys


# --- The server --------------------------------------------------------------------------------


def start_server(port: int, workers: int, pool: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "DB_POOL": "1",
        "DB_POOL_MAX_SIZE": str(pool),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DB_CONN_MAX_AGE", None)
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "config.asgi:application"),
            *("--worker-class", "config.workers.Worker", "--workers", str(workers)),
            *("--bind", f"127.0.0.1:{port}", "--timeout", "60", "--graceful-timeout", "5"),
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    sys.exit("the server did not answer /healthz within 60 s")


def cpu_seconds(master: int) -> float:
    """user + system CPU of gunicorn and its workers."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [master]
    children = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    pids += [int(pid) for pid in children]
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


class PostgresSampler(threading.Thread):
    """Peak connections to the benchmark's database, every 50 ms, and its transactions.

    Connected to the `postgres` database, so that its own queries count in neither.
    """

    def __init__(self, dsn: str, database: str) -> None:
        super().__init__(daemon=True)
        elsewhere = dsn.replace(f"dbname={database}", "dbname=postgres")
        self.connection = psycopg.connect(elsewhere, autocommit=True)
        self.database = database
        self.peak = 0
        self.running = True

    def run(self) -> None:
        while self.running:
            count = self.connection.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = %s AND backend_type = 'client backend'",
                [self.database],
            ).fetchone()[0]
            self.peak = max(self.peak, count)
            time.sleep(0.05)

    def transactions(self) -> int:
        self.connection.execute("SELECT pg_stat_clear_snapshot()")
        return self.connection.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s", [self.database]
        ).fetchone()[0]

    def stop(self) -> None:
        self.running = False
        self.join(timeout=2)


# --- The watchers --------------------------------------------------------------------------------


class Watcher:
    def __init__(self, session_key: str) -> None:
        self.session_key = session_key
        self.seen: dict[int, float] = {}
        self.errors: list[str] = []
        self.ready = False


async def _request(port: int, path: str, session_key: str, extra: str = ""):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**22)
    writer.write(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: sessionid={session_key}\r\n"
            f"{extra}\r\n"
        ).encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return reader, writer, status, head


def _record(watcher: Watcher, buffer: bytes, markers: list[bytes]) -> bytes:
    """Note each entry found in what arrived (markers in posting order); keep the unread tail."""
    now = time.monotonic()
    for index, marker in enumerate(markers):
        if index not in watcher.seen and marker in buffer:
            watcher.seen[index] = now
    return buffer[-200:]


async def stream_watcher(port: int, number: int, watcher: Watcher, markers: list[bytes], stop: asyncio.Event):
    try:
        reader, writer, status, _ = await _request(
            port, f"/incidents/{number}/events/", watcher.session_key, "Accept: text/event-stream\r\n"
        )
    except OSError as exc:
        watcher.errors.append(f"connect: {exc}")
        return
    if status != 200:
        watcher.errors.append(f"HTTP {status}")
        writer.close()
        return
    buffer = b""
    try:
        while not stop.is_set():
            try:
                chunk = await asyncio.wait_for(reader.read(65536), 0.5)
            except TimeoutError:
                continue
            if not chunk:
                watcher.errors.append("stream closed by the server")
                return
            watcher.ready = True
            buffer = _record(watcher, buffer + chunk, markers)
    finally:
        writer.close()


async def poll_watcher(
    port: int,
    incident: tuple[int, int],
    watcher: Watcher,
    markers: list[bytes],
    stop: asyncio.Event,
    every: float,
    start: int,
):
    incident_id, number = incident
    revision = start  # what the page showed when it loaded
    reader = writer = None
    await asyncio.sleep(random.uniform(0, every))  # browsers opened at different moments
    while not stop.is_set():
        started = time.monotonic()
        reused = writer is not None
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**22)
            writer.write(
                (
                    f"GET /incidents/{number}/poll/?id={incident_id}&rev={revision} HTTP/1.1\r\n"
                    f"Host: 127.0.0.1:{port}\r\nCookie: sessionid={watcher.session_key}\r\n\r\n"
                ).encode()
            )
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            body = await reader.readexactly(int(length.group(1))) if length else b""
        except (OSError, asyncio.IncompleteReadError) as exc:
            if reused:
                # The server closed an idle keep-alive connection: a browser asks again at once.
                writer = None
                continue
            watcher.errors.append(f"poll: {exc!r}")
            writer = None
            await asyncio.sleep(every)
            continue
        if status not in (200, 204):
            watcher.errors.append(f"HTTP {status}")
        elif status == 200:
            _record(watcher, body, markers)
            found = re.search(rb"rev=(\d+)", body)
            if found:
                revision = int(found.group(1))
        watcher.ready = True
        await asyncio.sleep(max(0.0, every - (time.monotonic() - started)))
    if writer is not None:
        writer.close()


def current_revision(incident_id: int) -> int:
    try:
        return Incident.objects.values_list("revision", flat=True).get(pk=incident_id)
    finally:
        connections.close_all()


# --- A phase -----------------------------------------------------------------------------------------


def post_entry(port: int, incident_id: int, token: str, body: str) -> float:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/incidents/{incident_id}/timeline/",
        data=json.dumps({"kind": "note", "body": body}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()
        if answer.status != 201:
            raise RuntimeError(f"the API answered {answer.status}")
    return time.monotonic()


async def phase(
    name: str, args, incident: tuple[int, int], token: str, keys: list[str], master: int, dsn: str
) -> dict:
    incident_id, number = incident
    tag = secrets.token_hex(3)
    bodies = [f"bench-{name}-{tag}-{k:03d}" for k in range(args.entries)]
    markers = [body.encode() for body in bodies]
    watchers = [Watcher(key) for key in keys]
    stop = asyncio.Event()
    sampler = PostgresSampler(dsn, settings.DATABASES["default"]["NAME"])
    sampler.start()
    cpu_before = cpu_seconds(master)
    every = settings.INCIDENT_ROOM_POLL_MS / 1000
    if name == "stream":
        runs = [stream_watcher(args.port, number, w, markers, stop) for w in watchers]
    else:
        start = await asyncio.to_thread(current_revision, incident_id)
        runs = [poll_watcher(args.port, incident, w, markers, stop, every, start) for w in watchers]
    tasks = [asyncio.ensure_future(run) for run in runs]
    # Wait until every watcher is in (or has failed), then a quiet spell: what idle watchers cost.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(w.ready or w.errors for w in watchers):
        await asyncio.sleep(0.2)
    opened = sum(1 for w in watchers if w.ready)
    # PostgreSQL adds a backend's counts up about once a second: let the opening settle first.
    await asyncio.sleep(2)
    idle_transactions_before = sampler.transactions()
    await asyncio.sleep(args.idle)
    idle_transactions = sampler.transactions() - idle_transactions_before
    posted: list[float] = []
    loop = asyncio.get_running_loop()
    for body in bodies:
        posted.append(await loop.run_in_executor(None, post_entry, args.port, incident_id, token, body))
        await asyncio.sleep(args.gap)
    await asyncio.sleep(every + 3 if name == "poll" else 3)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    cpu = cpu_seconds(master) - cpu_before
    sampler.stop()
    latencies = [w.seen[k] - posted[k] for w in watchers for k in w.seen]
    complete = sum(1 for w in watchers if len(w.seen) == len(bodies))
    missed = sum(len(bodies) - len(w.seen) for w in watchers)
    errors = sum(len(w.errors) for w in watchers)
    kinds: dict[str, int] = {}
    for w in watchers:
        for error in w.errors:
            kinds[error] = kinds.get(error, 0) + 1
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else float("nan")

    return {
        "phase": name,
        "watchers": len(watchers),
        "opened": opened,
        "entries": len(bodies),
        "complete": complete,
        "missed": missed,
        "errors": errors,
        "error_kinds": dict(sorted(kinds.items(), key=lambda kv: -kv[1])[:5]),
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p95": pct(0.95),
        "max": latencies[-1] if latencies else float("nan"),
        "cpu": cpu,
        "peak_pg": sampler.peak,
        "idle_queries": idle_transactions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--watchers", type=int, default=500)
    parser.add_argument("--entries", type=int, default=10)
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between two entries")
    parser.add_argument("--idle", type=float, default=5.0, help="idle seconds measured before posting")
    parser.add_argument("--phases", default="stream,poll")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pool", type=int, default=10)
    parser.add_argument("--port", type=int, default=8799)
    args = parser.parse_args()

    incident_id, number, token, keys = prepare(args.watchers)
    db = settings.DATABASES["default"]
    dsn = f"host={db['HOST']} port={db['PORT'] or 5432} dbname={db['NAME']} user={db['USER']}"
    if db.get("PASSWORD"):
        dsn += f" password={db['PASSWORD']}"
    server = start_server(args.port, args.workers, args.pool)
    results = []
    try:
        for name in args.phases.split(","):
            run = phase(name, args, (incident_id, number), token, keys, server.pid, dsn)
            results.append(asyncio.run(run))
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=20)

    print(
        f"\nroom_live: {args.watchers} watchers, {args.entries} entries {args.gap:g} s apart, "
        f"gunicorn {args.workers} uvicorn workers, pool {args.pool} per worker, PostgreSQL + Redis, DEBUG=0"
    )
    print(
        f"{'phase':<8}{'opened':>7}{'got all':>9}{'missed':>8}{'errors':>8}{'p50 s':>8}{'p95 s':>8}"
        f"{'max s':>8}{'CPU s':>8}{'peak PG':>9}{'idle q':>8}"
    )
    for r in results:
        print(
            f"{r['phase']:<8}{r['opened']:>7}{r['complete']:>9}{r['missed']:>8}{r['errors']:>8}"
            f"{r['p50']:>8.3f}{r['p95']:>8.3f}{r['max']:>8.3f}{r['cpu']:>8.1f}{r['peak_pg']:>9}"
            f"{r['idle_queries']:>8}"
        )
        if r["error_kinds"]:
            print(f"  errors: {r['error_kinds']}")
    print(
        f"idle q: queries the server ran in {args.idle:g} s with every watcher connected and nothing "
        "happening (polling: one per poll, the signed-in user)"
    )


if __name__ == "__main__":
    main()
