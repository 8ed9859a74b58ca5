import os
import shutil

import pytest
from django.test import Client

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-dev-shm-usage",
]


# One browser for this package, closed when its last test ends: while Playwright's sync
# API is open its event loop counts as running in this thread, and the tests after it
# that run an event loop of their own (asyncio.run) would be refused.
@pytest.fixture(scope="package")
def browser():
    if not shutil.which(CHROMIUM):
        if os.environ.get("COOLHEAD_REQUIRE_BROWSER"):
            pytest.fail(f"Chromium is required (COOLHEAD_REQUIRE_BROWSER) but {CHROMIUM} is missing")
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (CI installs it)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the
    # tests make between browser steps are still synchronous and safe.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class _OneConnectionForAllThreads:
    """What Django's live server does for an in-memory SQLite test database, for every thread:
    the ASGI server runs each request (and each stream's work) in a thread of its own, and all
    of them must see the one database the test wrote."""

    def __init__(self, connection) -> None:
        self.default = connection


@pytest.fixture
def live_server(request):
    """The portal as production serves it (the ASGI application in uvicorn), in a thread of this
    process, on the test database: streams (server-sent events) need it."""
    import asyncio
    import socket
    import threading
    import time
    from types import SimpleNamespace

    import uvicorn
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.db import connections

    from config.asgi import application
    from core import live

    if "transactional_db" not in request.fixturenames and not any(
        mark.kwargs.get("transaction") for mark in request.node.iter_markers("django_db")
    ):
        request.getfixturevalue("transactional_db")
    connection = connections["default"]
    shared = connection.vendor == "sqlite" and connection.is_in_memory_db()
    saved = connections._connections
    if shared:
        connection.ensure_connection()
        connection.inc_thread_sharing()
        connections._connections = _OneConnectionForAllThreads(connection)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Static files from the apps' folders, as Django's live server serves them (no collectstatic).
    served = ASGIStaticFilesHandler(application)
    server = uvicorn.Server(
        uvicorn.Config(served, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the ASGI test server did not start"

    def break_streams() -> None:
        """Every stream of the server ends now, as if Redis went away (the pages poll)."""
        done = threading.Event()

        def in_loop() -> None:
            for hub in list(live._hubs.values()):
                hub._break_all()
            done.set()

        loop.call_soon_threadsafe(in_loop)
        done.wait(5)

    # pytest-django's helper fixture expects these of a live_server.
    quiet = SimpleNamespace(enable=lambda: None, disable=lambda: None)
    yield SimpleNamespace(
        url=f"http://127.0.0.1:{port}", break_streams=break_streams, _live_server_modified_settings=quiet
    )
    server.should_exit = True
    thread.join(timeout=10)
    if shared:
        connections._connections = saved
        connection.dec_thread_sharing()


@pytest.fixture
def page_for(browser, live_server):
    """A browser page signed in as the given user; keyword arguments shape its context (a phone)."""
    contexts = []

    def make(user, **context_options):
        client = Client()
        client.force_login(user)
        context = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **context_options})
        context.add_cookies(
            [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield make
    for context in contexts:
        context.close()
