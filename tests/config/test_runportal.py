"""`make run` (manage.py runportal): a dead worker or beat comes back, Ctrl-C stops all, links follow PORT.

The supervisor runs real child processes here (small Python scripts that
record their pid), so that `kill -9` is the real thing; tests/drills runs the
real web server, worker and beat under it.
"""

import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from config.management.commands.runportal import Child, Supervisor, child_environment

ROOT = Path(__file__).resolve().parents[2]


def _sleeper(marker: Path) -> list[str]:
    """A child that appends its pid to `marker` and then waits to be stopped."""
    code = f"import os, time\nopen({str(marker)!r}, 'a').write(f'{{os.getpid()}}\\n')\ntime.sleep(120)\n"
    return [sys.executable, "-c", code]


def _pids(marker: Path) -> list[int]:
    return [int(line) for line in marker.read_text().split()] if marker.exists() else []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0): look at its state.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def supervised(tmp_path):
    """Run a Supervisor over sleeper children in a thread; stop it at the end."""
    runs = []

    def start(**kwargs) -> tuple[Supervisor, dict[str, Path], threading.Thread]:
        markers = {name: tmp_path / f"{name}.pids" for name in ("web", "worker", "beat")}
        children = [
            Child("web", _sleeper(markers["web"]), restart=False),
            Child("worker", kwargs.pop("worker_command", None) or _sleeper(markers["worker"]), restart=True),
            Child("beat", _sleeper(markers["beat"]), restart=True),
        ]
        supervisor = Supervisor(children=children, env=dict(os.environ), out=io.StringIO(), **kwargs)
        thread = threading.Thread(target=supervisor.run, daemon=True)
        thread.start()
        runs.append((supervisor, thread))
        return supervisor, markers, thread

    yield start
    for supervisor, thread in runs:
        supervisor.stop()
        thread.join(timeout=20)


def test_a_worker_killed_with_sigkill_comes_back_and_the_web_server_keeps_running(supervised):
    supervisor, markers, _ = supervised(first_backoff=0.2)
    assert _wait_for(lambda: all(len(_pids(m)) == 1 for m in markers.values()))
    [web] = _pids(markers["web"])
    [worker] = _pids(markers["worker"])

    os.kill(worker, signal.SIGKILL)

    assert _wait_for(lambda: len(_pids(markers["worker"])) == 2), supervisor.out.getvalue()
    assert _alive(_pids(markers["worker"])[1])
    assert _pids(markers["web"]) == [web] and _alive(web)
    assert len(_pids(markers["beat"])) == 1
    assert "worker exited with -9; starting it again" in supervisor.out.getvalue()


def test_a_dead_beat_comes_back_too(supervised):
    _, markers, _ = supervised(first_backoff=0.2)
    assert _wait_for(lambda: len(_pids(markers["beat"])) == 1)
    os.kill(_pids(markers["beat"])[0], signal.SIGKILL)
    assert _wait_for(lambda: len(_pids(markers["beat"])) == 2)


def test_a_worker_that_keeps_dying_is_restarted_with_growing_pauses(supervised, tmp_path):
    starts = tmp_path / "starts"
    dies = [
        sys.executable,
        "-c",
        f"import time; open({str(starts)!r}, 'a').write(f'{{time.monotonic()}}\\n')",
    ]
    supervisor, markers, _ = supervised(worker_command=dies, first_backoff=0.2, max_backoff=0.8)
    assert _wait_for(lambda: starts.exists() and len(starts.read_text().split()) >= 5, timeout=15)
    times = [float(t) for t in starts.read_text().split()]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4 and gaps[2] >= 0.8  # 0.2, 0.4, 0.8, then the cap
    assert all(gap < 0.8 + 1.0 for gap in gaps)  # capped, not growing for ever
    assert len(_pids(markers["web"])) == 1 and _alive(_pids(markers["web"])[0])


def test_stop_ends_every_child(supervised):
    supervisor, markers, thread = supervised()
    assert _wait_for(lambda: all(len(_pids(m)) == 1 for m in markers.values()))
    pids = [p for m in markers.values() for p in _pids(m)]
    supervisor.stop()
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert _wait_for(lambda: not any(_alive(p) for p in pids))


def test_the_web_server_exiting_stops_everything(supervised):
    supervisor, markers, thread = supervised()
    assert _wait_for(lambda: all(len(_pids(m)) == 1 for m in markers.values()))
    os.kill(_pids(markers["web"])[0], signal.SIGKILL)
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert supervisor.exit_code != 0
    assert not _alive(_pids(markers["worker"])[0]) and not _alive(_pids(markers["beat"])[0])


def test_ctrl_c_on_runportal_stops_the_web_server_worker_and_beat(tmp_path):
    """The command itself, with its real children: SIGINT (Ctrl-C) and nothing is left running."""
    env = os.environ | {"COOLHEAD_RUN_DIR": str(tmp_path / "run"), "DEBUG": "1"}
    for name in ("DATABASE_URL", "REDIS_URL", "SITE_URL"):
        env.pop(name, None)
    port = _free_port()
    portal = subprocess.Popen(
        [sys.executable, "manage.py", "runportal", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert _wait_for(lambda: len(_descendants(portal.pid)) >= 3, timeout=30)
        children = _descendants(portal.pid)
        time.sleep(1)
        portal.send_signal(signal.SIGINT)
        output, _ = portal.communicate(timeout=30)
    finally:
        if portal.poll() is None:
            os.killpg(portal.pid, signal.SIGKILL)
    assert "Coolhead stopped." in output
    assert f"point to http://127.0.0.1:{port}" in output
    assert _wait_for(lambda: not any(_alive(pid) for pid in children), timeout=15)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _descendants(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, IndexError, ValueError):
            continue
        if ppid == pid:
            found.append(int(entry.name))
    return found


# --- SITE_URL follows PORT --------------------------------------------------------------


def test_site_url_follows_the_port_when_it_is_not_set():
    env = child_environment(host="127.0.0.1", port=9000, environ={"PATH": "/bin"})
    assert env["SITE_URL"] == "http://127.0.0.1:9000"
    assert env["PATH"] == "/bin"


def test_an_explicit_site_url_wins():
    env = child_environment(host="127.0.0.1", port=9000, environ={"SITE_URL": "https://coolhead.example.com"})
    assert env["SITE_URL"] == "https://coolhead.example.com"


def test_a_wildcard_listen_address_still_writes_a_reachable_link():
    assert child_environment(host="0.0.0.0", port=9000, environ={})["SITE_URL"] == "http://127.0.0.1:9000"


def test_the_children_build_their_links_with_that_port():
    """What a child process of `make run` reads: settings.SITE_URL, and the API's `url` built from it."""
    env = child_environment(host="127.0.0.1", port=9000, environ=os.environ)
    env.pop("DATABASE_URL", None)
    env["DEBUG"] = "1"
    code = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "print(settings.SITE_URL, settings.CSRF_TRUSTED_ORIGINS)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env | {"DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.split()[0] == "http://127.0.0.1:9000"
    assert "http://127.0.0.1:9000" in result.stdout


def _make_run_dry(*args: str, **environ: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "SITE_URL"} | environ
    result = subprocess.run(
        ["make", "-n", "--no-print-directory", "run", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [line for line in result.stdout.splitlines() if "manage.py" in line]


def test_make_run_passes_site_url_with_the_port_to_every_step():
    """migrate and load_demo write links too (the status page's JSON), not only the running portal."""
    steps = _make_run_dry("PORT=9000")
    assert [s.split("manage.py ")[1].split()[0] for s in steps] == ["migrate", "load_demo", "runportal"]
    assert all("SITE_URL=http://127.0.0.1:9000 " in step for step in steps), steps


def test_make_run_keeps_an_explicit_site_url():
    steps = _make_run_dry("PORT=9000", SITE_URL="https://coolhead.example.com")
    assert all("SITE_URL=https://coolhead.example.com " in step for step in steps), steps
