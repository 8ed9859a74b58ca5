"""Exactly one incident per open alert group, whatever the number of concurrent duplicates.

Real threads, each with its own database connection, on PostgreSQL: the partial
unique constraint decides the race, the losers re-read the winner's group.
"""

import threading

import pytest
from django.db import connection
from django.test import Client

from incidents.models import Incident, TimelineEntry
from integrations.models import AlertGroup
from roles.models import Service
from tests.api.alerting import payload, post_alertmanager, post_pagerduty

THREADS = 20

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (DATABASE_URL): SQLite serialises every writer, so there is no race to test",
    ),
]


def _race(send) -> list[int]:
    barrier = threading.Barrier(THREADS)
    statuses: list[int] = []
    lock = threading.Lock()

    def worker():
        from django.db import connections

        client = Client()
        try:
            barrier.wait(timeout=30)
            code = send(client).status_code
        except Exception:  # noqa: BLE001 - a crash counts as a 500
            code = 500
        finally:
            connections.close_all()
        with lock:
            statuses.append(code)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


def test_concurrent_duplicate_pagerduty_triggers_make_one_incident():
    service = Service.objects.create(name="Checkout")
    data = payload("pagerduty_trigger", routing_key=service.integration_key)
    statuses = _race(lambda client: post_pagerduty(client, data))
    assert statuses == [202] * THREADS
    assert Incident.objects.count() == 1
    group = AlertGroup.objects.get()
    assert group.event_count == THREADS
    assert group.incident.timeline.filter(kind=TimelineEntry.Kind.ALERT).count() == 1


def test_concurrent_duplicate_alertmanager_notifications_make_one_incident():
    service = Service.objects.create(name="Database")
    data = payload("alertmanager_firing")
    statuses = _race(lambda client: post_alertmanager(client, data, service.integration_key))
    assert statuses == [200] * THREADS
    assert Incident.objects.count() == 1
    assert AlertGroup.objects.get().event_count == THREADS
