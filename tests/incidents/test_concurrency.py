"""Real threads against PostgreSQL: the locks in the services, not luck, keep numbers and revisions apart."""

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from incidents import services
from incidents.models import Incident, TimelineEntry
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs row locks and concurrent writers: runs on PostgreSQL (DATABASE_URL), "
        "SQLite serialises writers on one file lock",
    ),
]

THREADS = 10


def _run_together(work: Callable[[int], object]) -> list[object]:
    """Run work(i) in THREADS threads that start at the same moment; re-raise the first error."""
    barrier = threading.Barrier(THREADS, timeout=30)
    results: list[object] = [None] * THREADS
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck on a lock"
    if errors:
        raise errors[0]
    return results


def test_concurrent_declares_get_distinct_consecutive_numbers():
    user = UserFactory()

    numbers = _run_together(
        lambda i: services.incident_declare(title=f"Fire {i}", severity=3, declared_by=user).number
    )

    assert sorted(numbers) == list(range(1, THREADS + 1))
    assert sorted(Incident.objects.values_list("number", flat=True)) == list(range(1, THREADS + 1))


def test_concurrent_entries_get_distinct_revisions():
    user = UserFactory()
    incident = services.incident_declare(title="Fire", severity=2, declared_by=user)
    base = incident.revision  # a major declaration records its rise too

    entries = _run_together(
        lambda i: services.timeline_add(incident=incident, kind="note", body=f"Note {i}", author=user)
    )

    incident.refresh_from_db()
    revisions = sorted(entry.revision for entry in entries)
    assert revisions == list(range(base + 1, base + THREADS + 1))
    assert incident.revision == base + THREADS
    notes = TimelineEntry.objects.filter(kind="note", body__startswith="Note ")
    assert sorted(notes.values_list("revision_created", flat=True)) == revisions
