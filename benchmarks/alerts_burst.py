"""A burst of alert events at a real gunicorn server on PostgreSQL: accepted per second, none lost or doubled.

What it does:
  1. creates a scratch database (coolhead_bench_alerts) on the PostgreSQL server
     of BENCH_DATABASE_URL and migrates it; one service with an integration key;
     Redis from BENCH_REDIS_URL (default redis://127.0.0.1:6379/7) as cache and broker;
  2. starts gunicorn on 127.0.0.1:BENCH_PORT (default 8750) against it;
  3. fires EVENTS PagerDuty Events v2 triggers, KEYS distinct dedup keys each sent
     EVENTS/KEYS times in shuffled order (so duplicates race each other), from
     CLIENTS concurrent keep-alive connections; with --alertmanager, half of the
     events are Alertmanager notifications instead (their own KEYS group keys);
  4. prints events accepted per second and checks the database: exactly one
     incident per key, and every accepted event counted on its alert group;
  5. stops gunicorn and drops the scratch database.

Run from a fresh clone, once `make test` (or `make install`) has made .venv, with
PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 (or BENCH_DATABASE_URL,
an admin connection to the server, and BENCH_REDIS_URL, a Redis database of its own):
    .venv/bin/python benchmarks/alerts_burst.py
Options: [--events 3000] [--keys 100] [--clients 16] [--workers 2] [--threads 8]
       [--port 8750] [--alertmanager] [--keep]
Goal (DESIGN.md): at least 300 events/s on a 2-core machine, none lost, none duplicated.
"""

import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
DB_NAME = "coolhead_bench_alerts"


def admin_dsn() -> str:
    return os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def scratch_url() -> str:
    parts = urllib.parse.urlsplit(admin_dsn())
    return urllib.parse.urlunsplit(parts._replace(path=f"/{DB_NAME}"))


def psql(sql: str) -> None:
    import psycopg

    with psycopg.connect(admin_dsn(), autocommit=True) as conn:
        conn.execute(sql)


def query(sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(scratch_url()) as conn:
        return conn.execute(sql).fetchall()


def server_env(run_dir: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DEBUG")}
    # Production runs on PostgreSQL and Redis (cache and broker); BENCH_REDIS_URL="" measures without.
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
    if redis_url:
        env["REDIS_URL"] = redis_url
        # Its own cache key prefix ("coolhead_bench:"), cleared before and after the run.
        env["TEST_DB_SUFFIX"] = "_bench"
    env.update(
        DATABASE_URL=scratch_url(),
        SECRET_KEY="benchmark-only-" + "x" * 40,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        COOLHEAD_RUN_DIR=run_dir,
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    return env


def clear_cache(env: dict) -> None:
    if not env.get("REDIS_URL"):
        return
    import redis

    client = redis.Redis.from_url(env["REDIS_URL"])
    for key in client.scan_iter("coolhead_bench:*"):
        client.delete(key)


def setup(env: dict) -> str:
    clear_cache(env)
    psql(f"DROP DATABASE IF EXISTS {DB_NAME}")
    psql(f"CREATE DATABASE {DB_NAME}")
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    code = (
        "from roles.models import Service;"
        "s = Service.objects.create(name='Benchmark');"
        "print(s.integration_key)"
    )
    out = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def wait_ready(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited early")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within 60 s")


def pagerduty_event(key: str, routing_key: str, n: int) -> tuple[str, bytes, dict]:
    body = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {"summary": f"Burst alert {key}", "source": "bench", "severity": "error"},
    }
    return "/integrations/pagerduty/v2/enqueue", json.dumps(body).encode(), {}


def alertmanager_event(key: str, routing_key: str, n: int) -> tuple[str, bytes, dict]:
    body = {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{key}"}}',
        "status": "firing",
        "receiver": "coolhead",
        "groupLabels": {"alertname": key},
        "commonLabels": {"alertname": key, "severity": "warning"},
        "commonAnnotations": {"summary": f"Burst alert {key}"},
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": key, "severity": "warning"},
                "annotations": {"summary": f"Burst alert {key}"},
                "startsAt": "2026-11-22T09:02:35.776Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": f"{abs(hash(key)) % 10**16:016d}",
            }
        ],
    }
    return (
        "/integrations/alertmanager/",
        json.dumps(body).encode(),
        {"Authorization": f"Bearer {routing_key}"},
    )


def fire(port: int, events: list[tuple[str, bytes, dict]], clients: int) -> tuple[int, dict[int, int], float]:
    queue = list(events)
    lock = threading.Lock()
    statuses: dict[int, int] = {}

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if not queue:
                    break
                path, body, headers = queue.pop()
            try:
                conn.request("POST", path, body, {"Content-Type": "application/json", **headers})
                response = conn.getresponse()
                response.read()
                code = response.status
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                code = 0
            with lock:
                statuses[code] = statuses.get(code, 0) + 1
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    accepted = statuses.get(202, 0) + statuses.get(200, 0)
    return accepted, statuses, elapsed


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def server_cpu(gunicorn_pgid: int) -> dict[int, float]:
    """CPU seconds used so far by the gunicorn processes and the scratch database's PostgreSQL backends."""
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    mine = []
    for pid in pids:
        try:
            if os.getpgid(pid) == gunicorn_pgid:
                mine.append(pid)
        except OSError:
            pass
    backends = [row[0] for row in query(f"SELECT pid FROM pg_stat_activity WHERE datname = '{DB_NAME}'")]
    return {pid: _cpu_seconds(pid) for pid in mine + backends}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--keys", type=int, default=100)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8750")))
    parser.add_argument(
        "--alertmanager", action="store_true", help="half of the events as Alertmanager notifications"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    import tempfile

    run_dir = tempfile.mkdtemp(prefix="coolhead-bench-alerts-")
    env = server_env(run_dir)
    print(f"Scratch database {DB_NAME}; migrating…", flush=True)
    routing_key = setup(env)
    proc = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(args.threads),
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        wait_ready(args.port, proc)
        keys = [f"burst-{i:04d}" for i in range(args.keys)]
        per_key = max(1, args.events // args.keys)
        events = []
        for n in range(per_key):
            for key in keys:
                if args.alertmanager and n % 2:
                    events.append(alertmanager_event(key, routing_key, n))
                else:
                    events.append(pagerduty_event(key, routing_key, n))
        random.Random(7).shuffle(events)
        # Warm up each worker's connection and imports on a key of its own (not counted).
        fire(args.port, [pagerduty_event("warm-up", routing_key, 0)] * (args.workers * 2), args.workers)
        print(
            f"Firing {len(events)} events ({args.keys} keys × {per_key}) from {args.clients} connections "
            f"at gunicorn ({args.workers} workers × {args.threads} threads)…",
            flush=True,
        )
        cpu_before = server_cpu(proc.pid)
        accepted, statuses, elapsed = fire(args.port, events, args.clients)
        cpu_after = server_cpu(proc.pid)
        cpu_used = sum(t - cpu_before.get(pid, 0.0) for pid, t in cpu_after.items())
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)

    incidents = query(
        "SELECT count(*) FROM incidents_incident i WHERE NOT EXISTS (SELECT 1 FROM integrations_alertgroup g "
        "WHERE g.incident_id = i.id AND g.dedup_key = 'warm-up')"
    )[0][0]
    groups = query(
        "SELECT count(*), count(DISTINCT dedup_key), coalesce(sum(event_count), 0) "
        "FROM integrations_alertgroup WHERE dedup_key <> 'warm-up'"
    )[0]
    expected_groups = args.keys * (2 if args.alertmanager else 1)
    print()
    print(f"events sent:            {len(events)}")
    print(f"answers:                {dict(sorted(statuses.items()))}")
    print(f"events accepted:        {accepted} in {elapsed:.2f} s = {accepted / elapsed:.0f} events/s")
    print(
        f"server CPU:             {cpu_used:.1f} s (gunicorn + its PostgreSQL backends) = "
        f"{accepted / cpu_used:.0f} events per CPU-second; load average now {os.getloadavg()[0]:.1f}"
        if cpu_used
        else "server CPU:             not measured"
    )
    print(f"incidents made:         {incidents} (expected {expected_groups}: one per key)")
    print(f"alert groups:           {groups[0]} ({groups[1]} distinct keys)")
    print(f"events counted on them: {groups[2]} (expected {accepted})")
    ok = (
        incidents == expected_groups and groups[0] == expected_groups and groups[2] == accepted == len(events)
    )
    print("RESULT:", "OK — none lost, none duplicated" if ok else "MISMATCH")
    clear_cache(env)
    if not args.keep:
        psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
