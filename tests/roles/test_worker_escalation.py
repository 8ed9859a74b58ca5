"""A real Celery worker on Redis escalates an unacknowledged page at its due time.

The worker runs as a subprocess against the same PostgreSQL test database, so
this needs REDIS_URL and DATABASE_URL (CI sets both). Bounded: about 10 seconds.
"""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery import app as celery_app
from roles.models import Page, Service
from roles.services import page_send
from roles.tasks import page_escalate
from tests.factories import IncidentFactory
from tests.roles.conftest import person
from tests.workers import needs_real_worker, start_worker, stop_worker

pytestmark = needs_real_worker


@pytest.mark.django_db(transaction=True)
def test_the_worker_escalates_at_the_due_time_and_ignores_stale_runs(tmp_path):
    celery_app.conf.task_always_eager = False  # the autouse fixture turns it back on
    celery_app.control.purge()
    first, second = person("First Owner"), person("Second Owner")
    service = Service.objects.create(name="Checkout", primary_owner=first, secondary_owner=second)
    incident = IncidentFactory(declared_by=person("Dee Clarer"), severity=1)
    page = page_send(incident=incident, by=None, service=service)  # its countdown task is 5 minutes away
    # Due in 3 seconds instead; a run that arrives now is early and waits for the due time.
    due = timezone.now() + timedelta(seconds=3)
    Page.objects.filter(pk=page.pk).update(escalates_at=due)
    token = str(page.escalation_token)
    page_escalate.apply_async((page.pk, token))
    page_escalate.apply_async((page.pk, "00000000-0000-0000-0000-000000000000"))  # stale: nothing

    log = tmp_path / "worker.log"
    worker = start_worker(log)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            page.refresh_from_db()
            if page.level == 1:
                break
            time.sleep(0.2)
        assert page.level == 1, log.read_text(errors="replace")[-3000:]
        assert timezone.now() >= due
        assert sorted(u.first_name for u in page.notified.all()) == ["First", "Second"]
        # The early run and the rescheduled one escalated once between them.
        time.sleep(1)
        page.refresh_from_db()
        assert page.level == 1 and page.status == Page.Status.TRIGGERED
        assert incident.timeline.filter(body__startswith="Page escalated to Second Owner").count() == 1
    finally:
        stop_worker(worker)
        celery_app.control.purge()
