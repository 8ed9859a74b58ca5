"""The portal as an ASGI application: what gunicorn's uvicorn workers serve (`make run`, the image).

Sync views run as before (Django runs each in a thread); only the streams
(server-sent events, core/live.py) are async. In front of Django, a bound on the
requests one process works on at once: past WEB_MAX_IN_FLIGHT a request waits
its turn, and after WEB_QUEUE_SECONDS it gets a 503 with Retry-After. Overload
is slow answers, then "retry", never a 500 or a pile of threads each holding a
database connection. Streams are not counted here (they hold no thread): they
have their own bound, LIVE_MAX_STREAMS.
"""

import asyncio
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_asgi_application()

from django.conf import settings  # noqa: E402 - after Django is set up


def _is_stream(scope: dict) -> bool:
    # The streams' URLs: /incidents/<n>/events/, /incidents/events/, /notifications/events/.
    return scope.get("path", "").endswith("/events/")


async def _busy(send) -> None:
    body = b"The portal is busy; retry in a few seconds.\n"
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"5"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class InFlightLimit:
    """At most WEB_MAX_IN_FLIGHT requests at once in this process (streams apart)."""

    def __init__(self, app) -> None:
        self.app = app
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or _is_stream(scope):
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(settings.WEB_MAX_IN_FLIGHT)
        try:
            await asyncio.wait_for(self._slots.acquire(), settings.WEB_QUEUE_SECONDS)
        except TimeoutError:
            await _busy(send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.release()


application = InFlightLimit(django_application)
