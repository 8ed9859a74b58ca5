"""How much an open incident room costs the server while nothing happens.

Every open browser polls the room every INCIDENT_ROOM_POLL_MS. This script
builds an incident with 2,000 timeline entries in a scratch database, then, in
process through Django's test client (no network, so the figures are the
server's own work), measures:

  - the queries and time of an idle poll (nothing new: 204, no body),
  - a poll that finds one new entry,
  - a full render of the room,
  - the trivial /healthz view, as the floor.

Run from a fresh clone, once `make test` (or `make install`) has made .venv:
    .venv/bin/python benchmarks/room_poll.py
With nothing set it uses SQLite and the file cache in a temporary folder. DATABASE_URL
and REDIS_URL are honoured: point DATABASE_URL at an empty database of its own (the
script migrates it and writes the incident there), e.g. after `createdb -h 127.0.0.1 -U postgres bench_room`:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_room REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python benchmarks/room_poll.py
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DEBUG", "1")
if "DATABASE_URL" not in os.environ:
    scratch = tempfile.mkdtemp(prefix="coolhead-bench-")
    os.environ["COOLHEAD_RUN_DIR"] = scratch
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from core.markdown import render_markdown  # noqa: E402
from incidents import services  # noqa: E402
from incidents.models import TimelineEntry  # noqa: E402

ENTRIES = 2000


def timed(client: Client, url: str, runs: int, expect: int) -> tuple[float, int]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        samples.append(time.perf_counter() - start)
        assert response.status_code == expect, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return statistics.median(samples) * 1000, len(queries)


def main() -> None:
    settings.RUN_DIR.mkdir(parents=True, exist_ok=True)
    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", "bench@example.com", "x", is_active=True)
    incident = services.incident_declare(title="Benchmark", severity=2, declared_by=user)
    now = timezone.now()
    TimelineEntry.objects.bulk_create(
        TimelineEntry(
            incident=incident,
            kind="note",
            body=f"Entry {i}",
            body_html=render_markdown(f"Entry {i}"),
            author=user,
            occurred_at=now,
            recorded_at=now,
            revision=1,
            revision_created=1,
        )
        for i in range(ENTRIES)
    )
    client = Client()
    client.force_login(user)
    incident.refresh_from_db()
    room = incident.get_absolute_url()
    poll = f"{room}poll/?id={incident.pk}&rev={incident.revision}"
    client.get(poll)  # warm the revision cache, as the first poll of a browser does

    idle_ms, idle_q = timed(client, poll, 2000, 204)
    room_ms, room_q = timed(client, room, 50, 200)
    floor_ms, floor_q = timed(client, "/healthz", 2000, 200)

    services.timeline_add(incident=incident, kind="note", body="news", author=user)
    news_ms, news_q = timed(client, poll, 200, 200)

    print(f"database: {connection.vendor}, cache: {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}")
    print(f"timeline entries: {ENTRIES + 2}")
    print(f"{'request':<28}{'median ms':>10}{'queries':>9}")
    print(f"{'idle poll (204, no body)':<28}{idle_ms:>10.2f}{idle_q:>9}")
    print(f"{'poll with one new entry':<28}{news_ms:>10.2f}{news_q:>9}")
    print(f"{'full room page':<28}{room_ms:>10.2f}{room_q:>9}")
    print(f"{'/healthz (floor)':<28}{floor_ms:>10.2f}{floor_q:>9}")
    print(f"idle poll / full room: {idle_ms / room_ms:.3f}   idle poll / floor: {idle_ms / floor_ms:.2f}")
    print(f"at one poll per 2 s, one core serves ~{2000 / idle_ms:.0f} idle open rooms")


if __name__ == "__main__":
    main()
