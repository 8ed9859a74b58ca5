"""One message to 10,000 e-mail recipients: how fast does the outbox drain?

Sets up a scratch PostgreSQL database, starts a local SMTP sink (aiosmtpd) and
ONE Celery worker (thread pool, 8 threads by default) against Redis, then calls
comms.services.message_send() once with 10,000 e-mail recipients and waits
until every delivery is recorded as sent. Prints the time to write the
outbox, the time until the last delivery was sent, deliveries per second, and
checks that the sink got each address exactly once.

Goal: all 10,000 within 60 seconds on a 2-core machine.

Run from a fresh clone, once `make test` (or `make install`) has made .venv (not part of `make test`):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python benchmarks/comms_email_burst.py
Options: [--recipients 10000] [--pool threads] [--concurrency 8] [--batch 100] [--timeout 180]
DATABASE_URL names the server; the script creates and drops its own database on it.
REDIS_URL is broker and cache: give it a Redis database of its own, as the script
purges the Celery queue there before it starts.
"""

import argparse
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SCRATCH_DB = "coolhead_bench_comms"
SMTP_PORTS = range(8320, 8340)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=8,
        help="threads (or processes) of the one worker; more than the cores, as sending mostly waits",
    )
    # Sending waits on round trips (SMTP, PostgreSQL), so threads beat processes.
    parser.add_argument("--pool", choices=["prefork", "threads"], default="threads")
    parser.add_argument("--batch", type=int, default=100, help="COMMS_EMAIL_BATCH_SIZE")
    parser.add_argument("--timeout", type=float, default=180, help="give up after this many seconds")
    return parser.parse_args()


def scratch_database_url(server_url: str) -> str:
    """Create an empty scratch database next to the one DATABASE_URL names."""
    import psycopg

    parts = urlsplit(server_url)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{SCRATCH_DB}"')
    return urlunsplit(parts._replace(path="/" + SCRATCH_DB))


def drop_scratch(server_url: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}" WITH (FORCE)')


def free_port() -> int:
    for port in SMTP_PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit("No free port in 8320-8339 for the SMTP sink")


class CountingSink:
    """Counts what it accepts, by recipient; no parsing, so the sink is not the bottleneck."""

    def __init__(self) -> None:
        self.by_recipient: Counter[str] = Counter()
        self.sessions = 0
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            self.by_recipient.update(envelope.rcpt_tos)
        return "250 OK"


def stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def main() -> None:
    args = parse_args()
    server_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not server_url.startswith("postgres") or not redis_url:
        raise SystemExit("Set DATABASE_URL (PostgreSQL server) and REDIS_URL: the benchmark needs both.")

    database_url = scratch_database_url(server_url)
    smtp_port = free_port()
    env = os.environ | {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "comms-benchmark-secret-key-0123456789abcdef0123456789",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "COMMS_EMAIL_BATCH_SIZE": str(args.batch),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DEBUG", None)  # DEBUG keeps every query in memory
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

    import django

    django.setup()

    import logging

    from aiosmtpd.controller import Controller
    from django.core.management import call_command

    from comms.models import Delivery
    from comms.selectors import email_channel
    from comms.services import Recipient, message_send
    from config.celery import app as celery_app

    print(f"Scratch database {SCRATCH_DB}, Redis {redis_url}, SMTP sink on 127.0.0.1:{smtp_port}")
    call_command("migrate", verbosity=0)
    celery_app.control.purge()

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command at INFO
    sink = CountingSink()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-l",
            "warning",
            f"--pool={args.pool}",
            f"--concurrency={args.concurrency}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        # Wait for the worker to answer a ping, so its start-up is not timed.
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(timeout=1.0):
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit("The worker did not start")
        channel = email_channel()
        recipients = [
            Recipient(channel=channel, address=f"r{i:05d}@example.com") for i in range(args.recipients)
        ]

        started = time.perf_counter()
        message = message_send(
            kind="public_update",
            subject="Checkout is degraded",
            body="We are **on it**.",
            recipients=recipients,
        )
        written = time.perf_counter() - started
        print(f"message_send: {args.recipients} deliveries written and enqueued in {written:.2f} s")

        deliveries = Delivery.objects.filter(message=message)
        last_report = 0.0
        while True:
            sent = deliveries.filter(state=Delivery.State.SENT).count()
            elapsed = time.perf_counter() - started
            if sent >= args.recipients:
                break
            if deliveries.filter(state=Delivery.State.DEAD).exists():
                raise SystemExit(
                    "Some deliveries died: " + str(deliveries.filter(state="dead").first().last_error)
                )
            if elapsed > args.timeout:
                raise SystemExit(f"Gave up after {elapsed:.0f} s with {sent} sent")
            if elapsed - last_report >= 5:
                print(f"  {elapsed:5.1f} s: {sent} sent")
                last_report = elapsed
            time.sleep(0.1)
        last_sent_at = deliveries.order_by("-sent_at").values_list("sent_at", flat=True).first()
        first_created = message.created_at
        total = (last_sent_at - first_created).total_seconds()
        print()
        print(f"Recipients:                  {args.recipients}")
        pool = f"{args.pool}, concurrency {args.concurrency}"
        print(f"Worker:                      1 ({pool}), batch {args.batch}")
        print(f"Time until the last one:     {total:.2f} s (message written -> last delivery recorded sent)")
        print(f"Observed by this script:     {elapsed:.2f} s (including the {written:.2f} s write)")
        print(f"Deliveries per second:       {args.recipients / total:.0f}")
        print(f"SMTP sessions:               {sink.sessions}")
        duplicates = sum(n - 1 for n in sink.by_recipient.values() if n > 1)
        print(
            f"Received by the sink:        {sum(sink.by_recipient.values())} ({duplicates} duplicates, "
            f"{args.recipients - len(sink.by_recipient)} missing)"
        )
        print(f"Goal (all within 60 s):      {'met' if total <= 60 else 'NOT met'}")
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"Load average at the end:     {load} on {os.cpu_count()} CPUs")
        stop_worker(worker)
        # The worker's processes were waited for, so their CPU time is ours to read
        # (start-up and shut-down included).
        worker_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
        own_cpu = resource.getrusage(resource.RUSAGE_SELF)
        print(f"CPU, worker processes:       {worker_cpu.ru_utime + worker_cpu.ru_stime:.1f} s")
        print(f"CPU, this script + SMTP sink:{own_cpu.ru_utime + own_cpu.ru_stime:6.1f} s")
    finally:
        stop_worker(worker)
        controller.stop()
        from django.db import connections

        connections.close_all()
        drop_scratch(server_url)


if __name__ == "__main__":
    main()
