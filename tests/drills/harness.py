"""The real components of a drill, each one breakable on purpose, all on 127.0.0.1.

- RedisServer: a redis-server of its own (never the machine's shared one), which a
  drill stops (SIGKILL: a crash, and it comes back empty) or freezes (SIGSTOP:
  it accepts connections and answers nothing, like a paused VM).
- TcpProxy: the portal reaches PostgreSQL through it, so a drill can take the
  database away (new connections refused, open ones cut) without stopping the
  PostgreSQL cluster that other people use.
- Receiver: an HTTP server for webhooks that can be slow, fail, or redirect.
- Portal processes: gunicorn (the web server) and a Celery worker, started
  with production settings (DEBUG=0) against the above.
- Browser: a small HTTP client with cookies, that times every answer.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def wait_until(predicate, timeout: float, what: str, step: float = 0.2, on_timeout=None):
    """Poll `predicate` until it is truthy, for at most `timeout` seconds (a bounded loop)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            detail = on_timeout() if on_timeout else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}\n{detail}")
        time.sleep(step)


def port_is_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else f"({path} is empty)"


# --- Redis ------------------------------------------------------------------------------------


class RedisServer:
    """A redis-server on `port` that this drill owns: started, stopped, frozen and thawed here."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.workdir = workdir
        self.process: subprocess.Popen | None = None
        self.frozen = False

    def start(self) -> None:
        if port_is_open(self.port):
            raise RuntimeError(
                f"something already listens on 127.0.0.1:{self.port}; the drills start their own "
                "Redis there and stop it, so pick a free DRILL_REDIS_PORT"
            )
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.workdir)),
            ],
            stdout=(self.workdir / "redis.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(self.answers, 10, f"redis-server on port {self.port}")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """A crash: SIGKILL, nothing saved; it comes back empty."""
        if self.process is not None:
            if self.frozen:
                self.thaw()
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)
        self.frozen = False

    def flushall(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(b"FLUSHALL\r\n")
            sock.recv(16)


# --- A TCP proxy in front of PostgreSQL -------------------------------------------------------


class TcpProxy:
    """127.0.0.1:<port> -> upstream. stop() refuses new connections and cuts the open ones."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()

    @property
    def running(self) -> bool:
        return self._listener is not None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    server.close()
                    return
                self._sockets |= {client, server}
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


# --- Webhook receivers ------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    query: str
    delivery: str
    status: int
    at: float
    body: dict


@dataclass
class ReceiverState:
    slow_seconds: float = 3.0
    slow_times: int = 2  # the first requests to /slow wait slow_seconds before answering
    fail_times: int = 2  # the first requests to /failing get a 503
    received: list[Received] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def deliveries(self, path: str, status: int | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path and (status is None or r.status == status)]


class Receiver:
    """Webhook receivers on one port: /ok, /slow, /failing, /broken (always 500), /redirect."""

    def __init__(self) -> None:
        self.state = ReceiverState()
        state = self.state

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                path, _, query = self.path.partition("?")
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with state.lock:
                    n = state.counts[path] = state.counts.get(path, 0) + 1
                status, location = 200, None
                if path == "/slow" and n <= state.slow_times:
                    time.sleep(state.slow_seconds)
                elif path == "/failing" and n <= state.fail_times:
                    status = 503
                elif path == "/broken":
                    status = 500
                elif path == "/redirect":
                    status, location = 302, f"http://127.0.0.1:{self.server.server_port}/ok?via=redirect"
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                with state.lock:
                    state.received.append(
                        Received(
                            path,
                            query,
                            self.headers.get("X-Coolhead-Delivery", ""),
                            status,
                            time.time(),
                            body,
                        )
                    )
                try:
                    self.send_response(status)
                    if location:
                        self.send_header("Location", location)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender gave up waiting (timeout): as a real receiver would see it

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- The portal's processes -------------------------------------------------------------------


class Process:
    """A portal process (gunicorn, a Celery worker) in its own process group, logging to a file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """kill -9 of the whole process group: no cleanup, no ack, nothing recorded."""
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        self.kill()


def gunicorn(env: dict[str, str], port: int, log: Path) -> Process:
    # As in the Dockerfile: the ASGI application in uvicorn workers, the server production runs.
    return Process(
        "web",
        [
            str(BIN / "gunicorn"),
            "config.asgi:application",
            *("--worker-class", "config.workers.Worker"),
            *("--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "60"),
            *("--graceful-timeout", "5", "--access-logfile", "-"),
        ],
        env,
        log,
    )


def celery_worker(env: dict[str, str], log: Path) -> Process:
    # As in docker-compose.yml: the thread pool.
    return Process(
        "worker",
        [
            sys.executable,
            *("-m", "celery", "-A", "config", "worker", "--pool", "threads", "--concurrency", "4"),
            *("-l", "info", "-n", f"drill-{os.getpid()}@%h"),
        ],
        env,
        log,
    )


# --- A browser that times every answer --------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: Message  # http.client's: names match whatever their case
    body: bytes
    seconds: float

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


class Browser:
    """HTTP/1.1 to the web server; keeps cookies; never follows redirects. Timeout: 60 s."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.token = token

    def request(self, method: str, path: str, *, form=None, body=None, headers=None) -> Answer:
        headers = dict(headers or {})
        payload = None
        if form is not None:
            payload = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        headers.setdefault("Origin", f"http://127.0.0.1:{self.port}")
        headers.setdefault("Referer", f"http://127.0.0.1:{self.port}{path}")
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        started = time.monotonic()
        try:
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        seconds = time.monotonic() - started
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        # HTTP header names are case-insensitive (uvicorn writes them in lower case).
        return Answer(response.status, response.headers, data, seconds)

    def get(self, path: str, **kwargs) -> Answer:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> Answer:
        return self.request("POST", path, **kwargs)

    def form_token(self, path: str) -> str:
        page = self.get(path)
        assert page.status == 200, (path, page.status, page.text[:300])
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def submit(self, path: str, form: dict) -> Answer:
        """GET the page for its CSRF token, then POST the form to it."""
        token = self.form_token(path)
        return self.post(path, form={**form, "csrfmiddlewaretoken": token})

    def sign_in(self, email: str, password: str) -> Answer:
        return self.submit("/accounts/login/", {"login": email, "password": password})
