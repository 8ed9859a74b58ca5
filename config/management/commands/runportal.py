"""`make run`: the web server (gunicorn with a uvicorn worker, as in production), a Celery
worker and beat, kept running until Ctrl-C.

A worker or beat that dies (Redis went away, an out-of-memory kill, `kill -9`)
is started again after a pause that doubles with each quick death, up to
MAX_BACKOFF_SECONDS, while the web server keeps serving. Only the web server
exiting, or Ctrl-C, stops everything.

Every link the portal writes (e-mail, page acknowledge links, the status
page's JSON, the API's `url`) uses SITE_URL. Unless it is set explicitly, it
follows the port the web server listens on, so `PORT=9000 make run` writes
links to port 9000.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TextIO

from django.conf import settings
from django.core.management.base import BaseCommand

FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
# A child that ran this long before dying is started again after the first pause.
STABLE_AFTER_SECONDS = 60.0
STOP_GRACE_SECONDS = 10.0


def child_environment(*, host: str, port: int, environ: Mapping[str, str]) -> dict[str, str]:
    """The children's environment: SITE_URL follows the port unless it is set explicitly."""
    env = dict(environ)
    if not env.get("SITE_URL"):
        link_host = "127.0.0.1" if host in ("", "0.0.0.0", "::", "[::]") else host
        env["SITE_URL"] = f"http://{link_host}:{port}"
    return env


@dataclass
class Child:
    name: str
    command: list[str]
    restart: bool
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    backoff: float = FIRST_BACKOFF_SECONDS
    restart_at: float | None = None
    starts: int = 0


@dataclass
class Supervisor:
    """Starts the children, restarts the ones marked `restart` with backoff, stops them all on stop()."""

    children: list[Child]
    env: dict[str, str]
    out: TextIO = field(default_factory=lambda: sys.stdout)
    first_backoff: float = FIRST_BACKOFF_SECONDS
    max_backoff: float = MAX_BACKOFF_SECONDS
    stable_after: float = STABLE_AFTER_SECONDS
    poll_seconds: float = 0.2
    stopping: bool = False
    exit_code: int = 0

    def stop(self, *_args: object) -> None:
        self.stopping = True

    def run(self) -> int:
        for child in self.children:
            child.backoff = self.first_backoff
            self._start(child)
        try:
            while not self.stopping:
                now = time.monotonic()
                for child in self.children:
                    if child.process is not None and child.process.poll() is not None:
                        self._exited(child, now)
                    elif child.process is None and child.restart_at is not None and now >= child.restart_at:
                        self._start(child)
                time.sleep(self.poll_seconds)
        finally:
            self._stop_all()
        return self.exit_code

    def _start(self, child: Child) -> None:
        # Its own process group: Ctrl-C reaches each child once, from us, and a
        # dead worker's pool processes can be cleaned up with it.
        child.process = subprocess.Popen(child.command, env=self.env, start_new_session=True)
        child.started_at = time.monotonic()
        child.restart_at = None
        child.starts += 1

    def _exited(self, child: Child, now: float) -> None:
        process, child.process = child.process, None
        _kill_group(process.pid)  # leftovers, such as the pool of a worker killed with -9
        if not child.restart:
            self.out.write(f"{child.name} exited with {process.returncode}; stopping the rest.\n")
            self.exit_code = process.returncode or 1
            self.stopping = True
            return
        if now - child.started_at >= self.stable_after:
            child.backoff = self.first_backoff
        self.out.write(
            f"{child.name} exited with {process.returncode}; starting it again in {child.backoff:g} s.\n"
        )
        self.out.flush()
        child.restart_at = now + child.backoff
        child.backoff = min(child.backoff * 2, self.max_backoff)

    def _stop_all(self) -> None:
        running = [c.process for c in self.children if c.process is not None and c.process.poll() is None]
        for process in running:
            _signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _kill_group(process.pid)
                process.wait(timeout=5)
            _kill_group(process.pid)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _kill_group(pgid: int) -> None:
    _signal_group(pgid, signal.SIGKILL)


def web_command(*, python: str, host: str, port: int) -> list[str]:
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return [
        *(python, "-m", "gunicorn", "config.asgi:application"),
        *("--worker-class", "config.workers.Worker", "--workers", "1", "--bind", bind),
        *("--timeout", "30", "--graceful-timeout", "5", "--access-logfile", "-"),
    ]


class Command(BaseCommand):
    help = "Run the web server, a Celery worker and Celery beat until Ctrl-C; restart a dead worker or beat."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))

    def handle(self, *args, port: int, host: str, **options) -> None:
        settings.RUN_DIR.mkdir(parents=True, exist_ok=True)
        python = sys.executable
        env = child_environment(host=host, port=port, environ=os.environ)
        children = [
            # The production web server (README, Sizing): gunicorn with one uvicorn worker, the ASGI
            # application, so that the live room's streams run here as they do in the image.
            Child("web", web_command(python=python, host=host, port=port), restart=False),
            Child(
                "worker",
                [python, "-m", "celery", "-A", "config", "worker", "-l", "info", "--concurrency", "2"],
                restart=True,
            ),
            Child(
                "beat",
                [
                    *(python, "-m", "celery", "-A", "config", "beat", "-l", "info"),
                    *("-s", str(settings.RUN_DIR / "celerybeat-schedule")),
                ],
                restart=True,
            ),
        ]
        supervisor = Supervisor(children=children, env=env, out=self.stderr)
        signal.signal(signal.SIGINT, supervisor.stop)
        signal.signal(signal.SIGTERM, supervisor.stop)
        self.stdout.write(self.style.SUCCESS(f"Coolhead is starting at http://{host}:{port}/"))
        self.stdout.write(f"Links in e-mail and the status page point to {env['SITE_URL']}")
        exit_code = supervisor.run()
        self.stdout.write("Coolhead stopped.")
        sys.exit(exit_code)
