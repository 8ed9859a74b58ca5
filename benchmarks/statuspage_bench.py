"""Requests per second of the public status page: from the cache, from the database, and a trivial view.

What it does:
  1. makes a scratch portal in a temporary folder (SQLite, or the PostgreSQL of
     BENCH_DATABASE_URL with --postgres), migrates it, collects the static files
     into it, loads the demo data and EXTRA more published incidents (so the
     database rendering has real work), all with production settings (DEBUG=0);
  2. starts gunicorn with uvicorn workers (production's ASGI server) on 127.0.0.1:PORT (default 8650) with
     STATUSPAGE_ALLOW_CACHE_BYPASS=1, so that /status/?fresh=1 renders the page
     from the database on every request (the flag is off in production);
  3. loads three URLs for DURATION seconds each: /status/ (the cached page),
     /status/?fresh=1 (the same page rendered from the database) and /healthz (a
     trivial view on the same server), with wrk when installed, else a bounded
     Python load loop on threads;
  4. prints requests per second and the ratios, then stops gunicorn and removes
     the scratch data.

Run from a fresh clone, once `make test` (or `make install`) has made .venv:
    .venv/bin/python benchmarks/statuspage_bench.py
Options: [--duration 8] [--connections 8] [--workers 2] [--extra 40] [--port 8650]
     [--redis redis://127.0.0.1:6379/6] [--postgres] [--python-load]
Not part of `make test`.
"""

import argparse
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
PG_DB = "coolhead_bench_status"

# gunicorn with DEBUG=0 serves static files through the manifest storage, which
# needs a collectstatic of its own: collected into the scratch folder (not the
# clone's staticfiles/), through settings that only move STATIC_ROOT.
BENCH_SETTINGS = """
from config.settings import *  # noqa: F403

STATIC_ROOT = {static_root!r}
"""

EXTRA_DATA = """
from datetime import timedelta
from django.utils import timezone
from django.contrib.auth import get_user_model
from incidents import services as incident_services
from statuspage import services, public_cache
from statuspage.models import Component
admin = get_user_model().objects.get(email="admin@example.com")
components = list(Component.objects.filter(is_group=False))
statuses = ["degraded_performance", "partial_outage", "major_outage", "operational"]
for n in range({extra}):
    incident = incident_services.incident_declare(
        title=f"Bench incident {{n}}", severity=3, declared_by=admin
    )
    for step, status in enumerate(["investigating", "identified", "monitoring", "resolved"]):
        component = components[n % len(components)]
        services.statuspage_publish_update(
            incident=incident, by=admin, title=f"Slow responses #{{n}}", status=status,
            body="We are looking into slow responses. " * 4,
            component_statuses={{component.public_id: statuses[step]}}, deliver_notifications=False,
        )
public_cache.refresh()
print("published", {extra}, "extra incidents")
"""


def run(cmd: list[str], env: dict, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, cwd=ROOT, check=True, **kwargs)


def wait_for(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer {url} within {timeout:.0f} s")


def wrk(url: str, duration: int, connections: int) -> float:
    out = subprocess.run(
        ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} error responses\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def python_load(url: str, duration: int, connections: int) -> float:
    """Keep-alive GETs from `connections` threads for `duration` seconds (bounded, no wrk)."""
    parsed = urllib.request.urlparse(url)
    path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
    deadline = time.monotonic() + duration
    counts = [0] * connections
    failures: list[str] = []

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
        while time.monotonic() < deadline:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                failures.append(str(response.status))
                return
            counts[index] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"{url}: error responses {failures[:5]}")
    return sum(counts) / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8650")))
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--extra", type=int, default=40, help="extra published incidents (4 updates each)")
    parser.add_argument("--redis", default="", help="REDIS_URL for the cache (default: the file cache)")
    parser.add_argument("--postgres", action="store_true", help="use a scratch PostgreSQL database")
    parser.add_argument(
        "--python-load", action="store_true", help="use the Python load loop even if wrk exists"
    )
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="coolhead-statusbench-"))
    settings_module = scratch / "statusbench_settings.py"
    settings_module.write_text(BENCH_SETTINGS.format(static_root=str(scratch / "static")))
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "DEBUG", "TEST_DB_SUFFIX")
    }
    env.update(
        {
            "COOLHEAD_RUN_DIR": str(scratch),
            "DJANGO_SETTINGS_MODULE": "statusbench_settings",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(scratch), os.environ.get("PYTHONPATH")])),
            # Every step as the server runs: manage.py alone would default to DEBUG=1,
            # whose static storage writes no manifest and renders unhashed URLs.
            "DEBUG": "0",
            "SECRET_KEY": "statuspage-benchmark-only-" + "x" * 40,
            "STATUSPAGE_ALLOW_CACHE_BYPASS": "1",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOG_LEVEL": "WARNING",
            "SITE_URL": f"http://127.0.0.1:{args.port}",
        }
    )
    admin_dsn = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if args.postgres:
        base = admin_dsn.rsplit("/", 1)[0]
        env["DATABASE_URL"] = f"{base}/{PG_DB}"
        run(["psql", admin_dsn, "-q", "-c", f"DROP DATABASE IF EXISTS {PG_DB}"], env)
        run(["psql", admin_dsn, "-q", "-c", f"CREATE DATABASE {PG_DB}"], env)
    if args.redis:
        env["REDIS_URL"] = args.redis
    for folder in ("broker", "broker-processed"):
        (scratch / folder).mkdir(parents=True, exist_ok=True)

    server = None
    try:
        print(f"scratch portal in {scratch} ({'PostgreSQL' if args.postgres else 'SQLite'}, "
              f"cache: {args.redis or 'file'})", flush=True)  # fmt: skip
        run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], env)
        run([PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"], env)
        run([PYTHON, "manage.py", "load_demo"], env, stdout=subprocess.DEVNULL)
        run([PYTHON, "manage.py", "shell", "-c", EXTRA_DATA.format(extra=args.extra)], env)
        server = subprocess.Popen(
            # The production server: the ASGI application in gunicorn's uvicorn workers.
            [GUNICORN, "config.asgi:application", "-k", "config.workers.Worker",
             "-b", f"127.0.0.1:{args.port}", "-w", str(args.workers),
             "--access-logfile", "-", "--error-logfile", "-", "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        base = f"http://127.0.0.1:{args.port}"
        wait_for(f"{base}/healthz")
        wait_for(f"{base}/status/")
        load = python_load if args.python_load or not shutil.which("wrk") else wrk
        print(f"load: {'wrk' if load is wrk else 'python threads'}, {args.connections} connections, "
              f"{args.duration} s per URL, gunicorn {args.workers} workers", flush=True)  # fmt: skip
        results = {}
        for label, path in [
            ("cached /status/", "/status/"),
            ("from the database /status/?fresh=1", "/status/?fresh=1"),
            ("trivial view /healthz", "/healthz"),
            ("cached summary.json", "/status/api/v2/summary.json"),
        ]:
            results[label] = load(base + path, args.duration, args.connections)
            print(f"  {label:40s} {results[label]:9.1f} req/s", flush=True)
        cached = results["cached /status/"]
        fresh = results["from the database /status/?fresh=1"]
        trivial = results["trivial view /healthz"]
        print(f"cached / database:     {cached / fresh:6.1f}x")
        print(f"cached / trivial view: {cached / trivial:6.2f}"
              f"   ({'meets' if cached / trivial >= 0.8 else 'BELOW'} the 0.8 the design asks)")  # fmt: skip
        print(f"database / trivial:    {fresh / trivial:6.3f}")
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        if args.postgres:
            subprocess.run(["psql", admin_dsn, "-q", "-c", f"DROP DATABASE IF EXISTS {PG_DB}"], env=env)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
