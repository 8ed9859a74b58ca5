"""`make run` (manage.py runportal) on the drill stack: kill -9 of its worker, and the portal carries on."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from tests.drills.harness import ROOT, free_port, port_is_open, wait_until

pytestmark = pytest.mark.drill


def _children(pid: int) -> dict[int, str]:
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_text().replace("\0", " ")
        except (FileNotFoundError, IndexError, ValueError, ProcessLookupError):
            continue
        if ppid == pid:
            found[int(entry.name)] = cmdline
    return found


def _worker_pid(portal: subprocess.Popen) -> int | None:
    for pid, cmdline in _children(portal.pid).items():
        if "celery" in cmdline and " worker" in cmdline:
            return pid
    return None


def test_make_run_restarts_a_killed_worker_and_the_web_server_keeps_serving(drill, tmp_path):
    from comms.models import Delivery
    from comms.selectors import email_channel
    from comms.services import Recipient, message_send

    port = free_port()
    log = tmp_path / "runportal.log"
    env = drill.env | {"PORT": str(port)}
    env.pop("SITE_URL")  # make run's own: it follows PORT
    drill.worker.stop()  # so that what is delivered below can only be runportal's worker
    portal = subprocess.Popen(
        [sys.executable, "manage.py", "runportal", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until(
            lambda: port_is_open(port), 60, "runportal's web server", on_timeout=lambda: log.read_text()
        )
        first = wait_until(lambda: _worker_pid(portal), 30, "runportal's worker")
        wait_until(lambda: " ready." in log.read_text(errors="replace"), 60, "the worker to be ready")
        assert f"point to http://127.0.0.1:{port}" in log.read_text()

        os.kill(first, signal.SIGKILL)  # the worker alone, as in the issue
        killed_at = time.monotonic()
        second = wait_until(
            lambda: (pid := _worker_pid(portal)) not in (None, first) and pid,
            30,
            "a new worker",
            on_timeout=lambda: log.read_text(errors="replace")[-3000:],
        )
        assert portal.poll() is None, "runportal stopped with its worker"
        assert port_is_open(port), "the web server went down with the worker"

        # The new worker delivers.
        t0 = timezone.now()
        with transaction.atomic():
            message_send(
                kind="other",
                subject="make run drill",
                body="Delivered by the restarted worker.",
                recipients=[Recipient(channel=email_channel(), address="make-run@example.com")],
            )
        wait_until(
            lambda: Delivery.objects.filter(created_at__gte=t0, state=Delivery.State.SENT).exists(),
            60,
            "the restarted worker to deliver",
            on_timeout=lambda: log.read_text(errors="replace")[-3000:],
        )
        print(
            f"\nmake run: worker {first} killed; {second} delivered {time.monotonic() - killed_at:.1f} s on"
        )
        assert "worker exited with -9; starting it again" in log.read_text()

        portal.send_signal(signal.SIGINT)  # Ctrl-C
        portal.wait(timeout=30)
        assert "Coolhead stopped." in log.read_text()
        assert not port_is_open(port)
    finally:
        if portal.poll() is None:
            os.killpg(portal.pid, signal.SIGKILL)
            portal.wait(timeout=10)
