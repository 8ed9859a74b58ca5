"""The live room's stream while Redis is stopped (a crash) or frozen (SIGSTOP), on the real server.

core/live.py promises: when a process's Hub loses Redis, every stream it feeds
ends (the page polls meanwhile), new streams are refused (503 with Retry-After,
which the page falls back from) until Redis is back, and a stream opened again
with Last-Event-ID brings what the browser missed. A frozen Redis answers
nothing, so it is only noticed after PUBSUB_DEAD_AFTER_SECONDS without a pong.

The stack's `web` runs as production does (gunicorn, config.asgi, uvicorn
workers) with two workers; this drill starts one of its own with a single worker,
so that the stream and the requests after it meet the same Hub (one per process;
with more workers each one's Hub goes through the same steps).
"""

from __future__ import annotations

import http.client
import queue
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.live import PUBSUB_DEAD_AFTER_SECONDS
from tests.drills.conftest import PASSWORD
from tests.drills.flows import declare_api, unique
from tests.drills.harness import BIN, Browser, Process, free_port, tail, wait_until

pytestmark = pytest.mark.drill

# A note posted with the stream open reaches it within this (measured well under a second;
# generous for a machine busy with other work).
DELIVERED_WITHIN_SECONDS = 10.0
# Redis killed: the pub/sub connection fails at once, and the stream ends with it.
ENDED_AFTER_STOP_WITHIN_SECONDS = 10.0
# Redis frozen: a ping every PUBSUB_PING_SECONDS, and lost after PUBSUB_DEAD_AFTER_SECONDS
# without a pong (the Hub checks once a second), plus room for a busy machine.
ENDED_AFTER_FREEZE_WITHIN_SECONDS = PUBSUB_DEAD_AFTER_SECONDS + 10.0
# Once Redis answers again, the Hub reconnects within its backoff (at most 10 s) and
# streams are served again.
STREAMS_BACK_WITHIN_SECONDS = 30.0
# What a request may take during the fault (as in the Redis outage drill).
ANSWER_WITHIN_SECONDS = 3.0
# No read of a stream waits longer than this for the next byte.
READ_TIMEOUT_SECONDS = 60.0


# --- The production web server --------------------------------------------------------------------


@pytest.fixture(scope="module")
def asgi_web(stack):
    port = free_port()
    web = Process(
        "web-asgi",
        [
            str(BIN / "gunicorn"),
            "config.asgi:application",
            *("--worker-class", "config.workers.Worker", "--bind", f"127.0.0.1:{port}", "--workers", "1"),
            *("--timeout", "60", "--graceful-timeout", "5", "--access-logfile", "-"),
        ],
        stack.env,
        stack.logs / "web-asgi.log",
    )
    web.start()
    try:
        wait_until(
            lambda: _answers(port),
            60,
            "gunicorn (uvicorn workers) to answer /healthz",
            on_timeout=lambda: tail(web.log),
        )
        yield port, web.log
    finally:
        web.stop()


def _answers(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False


def _server_errors(log: Path, since: int) -> list[str]:
    """The access log's lines since `since` (bytes) with a 5xx other than 503 (the stream's "poll")."""
    with log.open("rb") as file:
        file.seek(since)
        lines = file.read().decode(errors="replace").splitlines()
    return [line for line in lines if re.search(r'HTTP/1\.1" 5(?!03)\d\d\b', line)]


# --- A browser's EventSource, without the browser ---------------------------------------------------


@dataclass
class Event:
    name: str  # "message" when the server named none; "" for a comment
    data: str
    id: str | None
    at: float


class EventStream:
    """GET a stream; a thread reads its events as they come, and notes when it ended."""

    def __init__(self, port: int, path: str, cookies: dict[str, str], last_event_id: str | None = None):
        headers = {
            "Accept": "text/event-stream",
            "Cache-Control": "no-cache",
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        }
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=READ_TIMEOUT_SECONDS)
        started = time.monotonic()
        self.connection.request("GET", path, headers=headers)
        self.response = self.connection.getresponse()
        self.seconds = time.monotonic() - started
        self.status = self.response.status
        self.headers = {k.lower(): v for k, v in self.response.headers.items()}
        self.body = b""
        self.events: queue.Queue[Event | None] = queue.Queue()
        self.seen: list[Event] = []
        self.ended_at: float | None = None
        self.error: BaseException | None = None
        if self.status == 200:
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()
        else:
            self.body = self.response.read()
            self.connection.close()
            self.ended_at = time.monotonic()

    def _read(self) -> None:
        buffer = ""
        try:
            while chunk := self.response.read1(65536):
                buffer += chunk.decode().replace("\r\n", "\n")
                while "\n\n" in buffer:
                    block, buffer = buffer.split("\n\n", 1)
                    self.events.put(_parse(block))
        except (OSError, http.client.HTTPException, ValueError) as error:
            self.error = error
        finally:
            self.ended_at = time.monotonic()
            self.events.put(None)

    def next_event(self, name: str, within: float, containing: str = "") -> Event:
        """The next event called `name` (with `containing` in its data), skipping others."""
        deadline = time.monotonic() + within
        while True:
            try:
                event = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(
                    f"no {name!r} event with {containing!r} within {within:g} s; saw {self._names()}"
                ) from None
            if event is None:
                self.events.put(None)
                raise AssertionError(
                    f"the stream ended before a {name!r} event with {containing!r}; saw {self._names()}"
                    f" ({self.error or 'closed by the server'})"
                )
            self.seen.append(event)
            if event.name == name and containing in event.data:
                return event

    def wait_end(self, within: float) -> float:
        """Wait for the server to end the stream; returns when it did (monotonic)."""
        deadline = time.monotonic() + within
        while True:
            try:
                event = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"the stream was still open after {within:g} s") from None
            if event is None:
                self.events.put(None)
                assert self.ended_at is not None
                return self.ended_at
            self.seen.append(event)

    def _names(self) -> list[str]:
        return [e.name or f": {e.data}" for e in self.seen]

    def close(self) -> None:
        # The socket shut first: the reader sees the end and stops before the connection goes.
        sock = self.connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self.status == 200:
            self._reader.join(timeout=10)
        self.connection.close()


def _parse(block: str) -> Event:
    name, data, event_id, comments = "message", [], None, []
    for line in block.split("\n"):
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "":
            comments.append(value)
        elif field == "event":
            name = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            event_id = value
    if not data and event_id is None and name == "message":
        return Event("", "\n".join(comments), None, time.monotonic())  # a comment, or "retry:"
    return Event(name, "\n".join(data), event_id, time.monotonic())


# --- The drill ------------------------------------------------------------------------------------


def _note(api: Browser, incident_id: int, body: str) -> float:
    """Post a note through the API; returns when the 201 came (monotonic)."""
    answer = api.post(f"/api/v1/incidents/{incident_id}/timeline/", body={"kind": "note", "body": body})
    assert answer.status == 201, (answer.status, answer.text[:500])
    assert answer.seconds < ANSWER_WITHIN_SECONDS, f"the note took {answer.seconds:.2f} s"
    return time.monotonic()


@pytest.mark.parametrize("fault", ["stopped", "frozen"])
def test_the_room_stream_ends_the_page_polls_and_resumes_without_losing_a_note(drill, asgi_web, fault):
    port, log = asgi_web
    log_from = log.stat().st_size
    api = Browser(port, token=drill.token)
    person = Browser(port)
    assert person.sign_in(drill.admin_email, PASSWORD).status == 302
    declared = declare_api(api, unique("Live drill"))
    assert declared.status == 201, declared.text
    incident_id, number = declared.json()["id"], declared.json()["number"]
    room = person.get(f"/incidents/{number}/")
    assert room.status == 200, room.text[:300]
    stream_path = f"/incidents/{number}/events/"
    revision = re.search(re.escape(stream_path) + r"\?rev=(\d+)", room.text).group(1)

    # 1. The stream, as the page opens it, gets a note posted through the API.
    stream = EventStream(port, f"{stream_path}?rev={revision}", person.cookies)
    assert stream.status == 200, (stream.status, stream.body[:300])
    assert stream.headers["content-type"].startswith("text/event-stream")
    stream.next_event("", DELIVERED_WITHIN_SECONDS, containing="watching from revision")
    before = unique("before the fault")
    posted = _note(api, incident_id, before)
    delta = stream.next_event("delta", DELIVERED_WITHIN_SECONDS, containing=before)
    figures = {"note delivered (before)": delta.at - posted}
    last_event_id = delta.id
    assert last_event_id and last_event_id.isdigit(), delta

    # 2. Redis goes: the stream ends, the poll carries on, a new stream is refused.
    if fault == "frozen":
        # The Hub reads the cache for channels first watched once pub/sub has been quiet for
        # a second; frozen under that read, it would give up at the cache's 0.5 s timeout.
        # Settled first, as a Redis that freezes at a random moment finds it: only the
        # pings can tell (PUBSUB_DEAD_AFTER_SECONDS).
        time.sleep(2.5)
    faulted = time.monotonic()
    if fault == "stopped":
        drill.redis.stop()
        within = ENDED_AFTER_STOP_WITHIN_SECONDS
    else:
        drill.redis.freeze()
        within = ENDED_AFTER_FREEZE_WITHIN_SECONDS
    try:
        ended = stream.wait_end(within)
        figures["stream ended after the fault"] = ended - faulted
        assert not [e for e in stream.seen if e.name == "delta" and e is not delta], stream.seen

        during = unique("during the fault")
        _note(api, incident_id, during)
        poll = person.get(f"/incidents/{number}/poll/?id={incident_id}&rev={last_event_id}")
        assert poll.status == 200, (poll.status, poll.text[:300])
        assert during in poll.text
        assert poll.seconds < ANSWER_WITHIN_SECONDS, f"the poll took {poll.seconds:.2f} s"
        figures["poll with the note (during)"] = poll.seconds

        refused = EventStream(port, f"{stream_path}?rev={last_event_id}", person.cookies)
        assert refused.status == 503, (refused.status, refused.body[:300])
        assert refused.headers.get("retry-after", "").isdigit(), refused.headers
        assert refused.seconds < ANSWER_WITHIN_SECONDS, f"the refusal took {refused.seconds:.2f} s"
        figures["new stream refused (503)"] = refused.seconds
    finally:
        if fault == "stopped":
            drill.redis.start()
        else:
            drill.redis.thaw()
        back = time.monotonic()

    # 3. Redis back: a stream opens again, as the browser reopens it (Last-Event-ID), and
    # brings the note it missed first, then the next one.
    attempts: list[int] = []

    def reopened() -> EventStream | None:
        again = EventStream(port, f"{stream_path}?rev={revision}", person.cookies, last_event_id)
        attempts.append(again.status)
        assert again.status in (200, 503), (again.status, again.body[:300])
        return again if again.status == 200 else None

    resumed = wait_until(
        reopened, STREAMS_BACK_WITHIN_SECONDS, "a stream to open again after Redis came back", step=0.5
    )
    try:
        figures["stream open again after Redis came back"] = time.monotonic() - back
        missed = resumed.next_event("delta", DELIVERED_WITHIN_SECONDS, containing=during)
        assert int(missed.id) > int(last_event_id), (missed.id, last_event_id)
        assert before not in missed.data  # from where the browser was, not from the start
        after = unique("after the fault")
        posted = _note(api, incident_id, after)
        delta = resumed.next_event("delta", DELIVERED_WITHIN_SECONDS, containing=after)
        figures["note delivered (after)"] = delta.at - posted
        assert int(delta.id) > int(missed.id)
    finally:
        resumed.close()
        stream.close()

    assert not _server_errors(log, log_from), _server_errors(log, log_from)
    print(f"\nRedis {fault}: the room's stream (one uvicorn worker; {len(attempts)} tries to reopen)")
    for what, seconds in figures.items():
        print(f"  {seconds:6.2f} s  {what}")
