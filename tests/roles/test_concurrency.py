"""Real threads on PostgreSQL: one acknowledgement wins, one escalation run wins, one IC."""

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from roles.models import IncidentRole, Page, RoleAssignment, Schedule
from roles.services import RoleError, page_acknowledge, page_escalate, page_incident_commander, role_assign
from tests.factories import IncidentFactory, trained_commander
from tests.roles.conftest import person, rotation

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs row locks and concurrent writers: runs on PostgreSQL (DATABASE_URL), "
        "SQLite serialises writers on one file lock",
    ),
]

THREADS = 8


def _run_together(work: Callable[[int], object]) -> tuple[list[object], list[BaseException]]:
    barrier = threading.Barrier(THREADS, timeout=30)
    results: list[object] = [None] * THREADS
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as error:  # noqa: BLE001 - counted by the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck on a lock"
    return results, errors


def _ic_page():
    primary, backup = person("Pia Primary"), person("Bo Backup")
    schedule = Schedule.objects.create(name="ICs", role=IncidentRole.INCIDENT_COMMANDER)
    rotation(schedule, [primary, backup], start=timezone.now().date() - timedelta(days=1), hours=24 * 365)
    incident = IncidentFactory(declared_by=person("Dee Clarer"), severity=1)
    return page_incident_commander(incident=incident, by=None), primary, backup


def test_concurrent_acknowledgements_one_wins_and_becomes_ic():
    page, primary, backup = _ic_page()
    people = [primary, backup]

    results, errors = _run_together(lambda i: page_acknowledge(page=page, user=people[i % 2]))

    assert len([r for r in results if r is not None]) == 1
    assert len(errors) == THREADS - 1 and all(isinstance(e, RoleError) for e in errors)
    page.refresh_from_db()
    assert page.status == Page.Status.ACKNOWLEDGED
    holders = RoleAssignment.objects.filter(incident=page.incident, role="incident_commander")
    assert [a.user for a in holders] == [page.acknowledged_by]
    assert page.incident.timeline.filter(kind="page", body__endswith="acknowledged the page").count() == 1


def test_concurrent_escalation_runs_escalate_once():
    page, _, _ = _ic_page()
    page.steps = page.steps + [[person("Next Person").pk]]
    page.escalates_at = timezone.now() - timedelta(seconds=1)
    page.save(update_fields=["steps", "escalates_at"])
    token = str(page.escalation_token)

    results, errors = _run_together(lambda i: page_escalate(page_id=page.pk, token=token))

    assert not errors
    assert len([r for r in results if r is not None]) == 1
    page.refresh_from_db()
    assert page.level == 1
    assert page.incident.timeline.filter(body__startswith="Page escalated to Next Person").count() == 1


def test_concurrent_takers_of_an_empty_role_make_one_ic():
    incident = IncidentFactory(declared_by=person("Dee Clarer"), severity=1)
    # Trained incident commanders: each may take command on their own (issue 13).
    takers = [trained_commander(person(f"Taker {i}")) for i in range(THREADS)]

    results, errors = _run_together(
        lambda i: role_assign(incident=incident, role="incident_commander", user=takers[i], by=takers[i])
    )

    assert len([r for r in results if r is not None]) == 1
    assert all(isinstance(e, RoleError) for e in errors)
    assert RoleAssignment.objects.filter(incident=incident, role="incident_commander").count() == 1
