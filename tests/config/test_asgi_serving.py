"""`make run`, the image and compose all serve the portal through the ASGI server: gunicorn with
uvicorn workers (config.workers.Worker) and config.asgi:application."""

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from uvicorn_worker import UvicornWorker

from config.management.commands import runportal
from config.workers import Worker

ROOT = Path(__file__).resolve().parents[2]
APPLICATION = "config.asgi:application"
WORKER_CLASS = "config.workers.Worker"


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def _assert_asgi_gunicorn(command: list[str]) -> None:
    assert "gunicorn" in command, command
    assert APPLICATION in command, command
    assert _option(command, "--worker-class") == WORKER_CLASS, command
    # Not Django's development server, and no WSGI entry point anywhere.
    assert not any("runserver" in part or "wsgi" in part for part in command), command


def test_make_runs_web_command_is_gunicorn_with_one_uvicorn_worker():
    command = runportal.web_command(python="/venv/bin/python", host="127.0.0.1", port=8123)
    assert command[:3] == ["/venv/bin/python", "-m", "gunicorn"]
    _assert_asgi_gunicorn(command)
    assert _option(command, "--workers") == "1"
    assert _option(command, "--bind") == "127.0.0.1:8123"
    assert _option(runportal.web_command(python="p", host="::1", port=9000), "--bind") == "[::1]:9000"


def test_runportal_starts_the_web_command_beside_the_worker_and_beat(monkeypatch):
    started = {}

    class Recorder:
        def __init__(self, *, children, env, out):
            started["children"] = {child.name: child for child in children}
            started["env"] = env

        def stop(self, *_args):
            pass

        def run(self):
            return 0

    monkeypatch.setattr(runportal, "Supervisor", Recorder)
    monkeypatch.setattr(runportal.signal, "signal", lambda *args: None)
    with pytest.raises(SystemExit) as exit_:
        runportal.Command().handle(port=8124, host="127.0.0.1")
    assert exit_.value.code == 0
    web = started["children"]["web"]
    assert web.command == runportal.web_command(python=sys.executable, host="127.0.0.1", port=8124)
    assert web.restart is False  # the web server exiting stops `make run`
    assert set(started["children"]) == {"web", "worker", "beat"}


def test_the_worker_class_is_uvicorns_without_lifespan():
    assert issubclass(Worker, UvicornWorker)
    assert Worker.CONFIG_KWARGS["lifespan"] == "off"


def test_the_images_command_serves_the_asgi_application():
    text = (ROOT / "Dockerfile").read_text()
    cmds = [line for line in text.splitlines() if line.startswith("CMD ")]
    assert len(cmds) == 1, cmds
    command = json.loads(cmds[0].removeprefix("CMD "))
    assert command[0] == "gunicorn"
    _assert_asgi_gunicorn(command)
    assert _option(command, "--bind") == "0.0.0.0:8000"


def test_composes_web_serves_the_asgi_application():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    web = compose["services"]["web"]["command"]
    # sh -c "migrate && gunicorn ...": the part after the last && is the server.
    script = shlex.split(web)[-1] if web.startswith("sh -c") else web
    server = script.split("&&")[-1]
    command = shlex.split(server)
    assert command[0] == "gunicorn"
    _assert_asgi_gunicorn(command)
    assert re.fullmatch(r"\$\{WEB_WORKERS:-\d+\}", _option(command, "--workers"))
    # The worker and beat are Celery, not a second web server.
    for name in ("worker", "beat"):
        assert compose["services"][name]["command"].startswith("celery -A config")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def test_the_web_command_really_serves_through_uvicorn(tmp_path):
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "REDIS_URL", "TEST_DB_SUFFIX", "DB_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "1",
            "COOLHEAD_RUN_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        }
    )
    command = runportal.web_command(python=sys.executable, host="127.0.0.1", port=port)
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, headers, body = _get(f"http://127.0.0.1:{port}/healthz")
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "the web server did not answer in 30 s"
                time.sleep(0.2)
        assert (status, body) == (200, b"ok")
        assert headers.get("server") == "uvicorn"
        # A stream view (async) answers through the same server: signed out, refused.
        status, _, _ = _get(f"http://127.0.0.1:{port}/incidents/events/")
        assert status == 403
    finally:
        os.killpg(server.pid, 15)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait(timeout=5)
        server.stderr.close()
