"""/healthz (the process answers) and /readyz (the database, the cache and the broker answer).

/readyz answers within READY_WITHIN_SECONDS whatever its dependencies do: a
frozen Redis or a database that accepts connections and never replies would
otherwise hold the probe (and the load balancer's verdict) for minutes. Each
check runs in its own thread; one that has not answered in time counts as
down. A check that hangs is not started again until it has finished, so a
probe every few seconds cannot pile up threads.
"""

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from config.celery import app

READY_WITHIN_SECONDS = 1.5

_executor = ThreadPoolExecutor(max_workers=6, thread_name_prefix="readyz")
_lock = threading.Lock()
_running: dict[str, Future] = {}


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready when the database, the cache and the Celery broker answer; else 503 naming what is down."""
    errors = _run({"database": _check_database, "cache": _check_cache, "broker": _check_broker})
    checks = {name: error is None for name, error in errors.items()}
    ready = all(checks.values())
    body: dict = {"ready": ready, "checks": checks}
    if not ready:
        body["down"] = [name for name, ok in checks.items() if not ok]
        body["errors"] = {name: error for name, error in errors.items() if error is not None}
    return JsonResponse(body, status=200 if ready else 503)


def _run(checks: dict[str, Callable[[], None]]) -> dict[str, str | None]:
    futures: dict[str, Future] = {}
    with _lock:
        for name, check in checks.items():
            running = _running.get(name)
            if running is None or running.done():
                running = _running[name] = _executor.submit(check)
            futures[name] = running
    deadline = time.monotonic() + READY_WITHIN_SECONDS
    errors: dict[str, str | None] = {}
    for name, future in futures.items():
        try:
            future.result(timeout=max(0.0, deadline - time.monotonic()))
            errors[name] = None
        except FutureTimeout:
            errors[name] = f"no answer within {READY_WITHIN_SECONDS} s"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            errors[name] = f"{type(exc).__name__}: {exc}"[:200]
    return errors


def _check_database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        # This thread's own connection: do not keep one per readyz thread.
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - closing a broken connection may fail too
            pass


def _check_cache() -> None:
    # The Redis cache is asked itself (config/cache.py), not this process's memory
    # of its last failure; other caches by a read.
    probe = getattr(cache, "probe", None)
    if probe is not None:
        probe()
    else:
        cache.get("coolhead:readyz")


def _check_broker() -> None:
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=READY_WITHIN_SECONDS)
        # Redis: connecting is lazy; a ping proves the server answers (with the
        # transport's socket timeouts, config/settings.py).
        client = getattr(conn.default_channel, "client", None)
        if client is not None:
            client.ping()
