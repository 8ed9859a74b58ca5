"""What the insights page and its API cost with a long history: time and queries, 5,000 and 50,000 incidents.

The page promises a bounded number of queries whatever the history's size. This
script fills a scratch database with N incidents spread over two years (bulk
inserts: services, pages to five people, follow-ups, reviews), then, in process
through Django's test client (no network: the server's own work), measures the
median time and the query count of /insights/ and /api/v1/insights/ for the
30, 90 and 365-day windows, as an admin and as a responder (who cannot see the
restricted incidents), and of the follow-ups page.

Run from a fresh clone, once `make install` (or `make test`) has made .venv:
    .venv/bin/python benchmarks/insights_bench.py
It runs 5,000 and then 50,000 incidents (`--sizes 5000` for one). With nothing set it
uses SQLite in a temporary folder. For PostgreSQL, point DATABASE_URL at an empty
database of its own (the script migrates it and writes there), e.g. after
`createdb -h 127.0.0.1 -U postgres bench_insights`:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_insights \\
        .venv/bin/python benchmarks/insights_bench.py
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DEBUG", "1")
if "DATABASE_URL" not in os.environ:
    os.environ["COOLHEAD_RUN_DIR"] = tempfile.mkdtemp(prefix="coolhead-bench-")
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

from incidents.models import Incident, Participation  # noqa: E402
from reviews.models import FollowUp, Review  # noqa: E402
from roles.models import Page, Service  # noqa: E402

User = get_user_model()


def timed(client: Client, url: str, runs: int) -> tuple[float, int]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return statistics.median(samples) * 1000, len(queries)


def fill(total: int, people: list, services: list) -> None:
    """Grow the history to `total` incidents, oldest first, one every two years / total."""
    have = Incident.objects.count()
    now = timezone.now()
    step = timedelta(days=730) / total
    batch = 2000
    for start in range(have, total, batch):
        rows = []
        for i in range(start, min(total, start + batch)):
            declared = now - step * (total - i)
            resolved = i % 7 != 0
            rows.append(
                Incident(
                    number=i + 1,
                    title=f"Incident {i}",
                    severity=i % 5 + 1,
                    is_security=i % 50 == 0,
                    status="resolved" if resolved else "investigating",
                    detected_at=declared - timedelta(minutes=3),
                    declared_at=declared,
                    acknowledged_at=declared + timedelta(minutes=i % 11) if i % 13 else None,
                    mitigated_at=declared + timedelta(minutes=20) if resolved else None,
                    resolved_at=declared + timedelta(minutes=45 + i % 30) if resolved else None,
                )
            )
        incidents = Incident.objects.bulk_create(rows)
        through = Incident.services.through
        through.objects.bulk_create(
            [
                through(incident_id=inc.pk, service_id=services[inc.number % len(services)].pk)
                for inc in incidents
            ]
        )
        Participation.objects.bulk_create(
            [Participation(incident=inc, user=people[0]) for inc in incidents if inc.is_security]
        )
        pages = Page.objects.bulk_create(
            [Page(incident=inc, target="person", created_at=inc.declared_at) for inc in incidents[::4]]
        )
        notified = Page.notified.through
        notified.objects.bulk_create([notified(page_id=p.pk, user_id=people[p.pk % 5].pk) for p in pages])
        FollowUp.objects.bulk_create(
            [
                FollowUp(
                    incident=inc,
                    title="Follow up",
                    owner=people[inc.number % 5],
                    due_on=(inc.declared_at + timedelta(days=14)).date(),
                    state="done" if inc.number % 3 else "open",
                    created_at=inc.declared_at,
                )
                for inc in incidents[::5]
            ]
        )
        Review.objects.bulk_create(
            [
                Review(
                    incident=inc,
                    owner=people[0],
                    due_on=(inc.declared_at + timedelta(days=7)).date(),
                    state="published" if inc.number % 2 else "draft",
                    published_at=inc.declared_at + timedelta(days=5) if inc.number % 2 else None,
                    created_at=inc.declared_at,
                )
                for inc in incidents
                if inc.severity <= 2 and inc.status == "resolved"
            ]
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="5000,50000", help="comma-separated history sizes, ascending")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    settings.RUN_DIR.mkdir(parents=True, exist_ok=True)
    call_command("migrate", verbosity=0)
    admin = User.objects.create_user("admin", "admin@example.com", "x", is_staff=True, is_superuser=True)
    people = [User.objects.create_user(f"p{i}", f"p{i}@example.com", "x") for i in range(5)]
    services = [Service.objects.create(name=f"Service {i}") for i in range(8)]
    print(f"database: {connection.vendor}")
    print(f"{'incidents':>9}  {'who':<9} {'request':<34}{'median ms':>10}{'queries':>9}")
    for size in sizes:
        fill(size, people, services)
        for who, user in (("admin", admin), ("responder", people[1])):
            client = Client()
            client.force_login(user)
            for url in (
                "/insights/?days=30",
                "/insights/?days=90",
                "/insights/?days=365",
                "/api/v1/insights/?days=365",
                "/follow-ups/?view=all",
            ):
                ms, queries = timed(client, url, 5)
                print(f"{size:>9}  {who:<9} {url:<34}{ms:>10.1f}{queries:>9}")


if __name__ == "__main__":
    main()
