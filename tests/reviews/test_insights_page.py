"""Insights with 5,000 incidents: a bounded number of queries, charts that the CSP lets render, CSV."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import Incident
from reviews.models import FollowUp
from roles.models import Page, Service
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MANY = 5000


@pytest.fixture
def history(admin_user):
    """5,000 incidents over the last year, with services, pages and follow-ups (bulk, not the services)."""
    now = timezone.now()
    people = [UserFactory() for _ in range(5)]
    services = [Service.objects.create(name=f"Service {i}") for i in range(4)]
    rows = []
    for i in range(MANY):
        declared = now - timedelta(minutes=100 * i + 5)
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
    incidents = Incident.objects.bulk_create(rows, batch_size=1000)
    through = Incident.services.through
    through.objects.bulk_create(
        [through(incident_id=inc.pk, service_id=services[n % 4].pk) for n, inc in enumerate(incidents)],
        batch_size=1000,
    )
    pages = Page.objects.bulk_create(
        [Page(incident=inc, target="person", created_at=inc.declared_at) for inc in incidents[::5]],
        batch_size=1000,
    )
    notified = Page.notified.through
    notified.objects.bulk_create(
        [notified(page_id=p.pk, user_id=people[n % 5].pk) for n, p in enumerate(pages)], batch_size=1000
    )
    FollowUp.objects.bulk_create(
        [
            FollowUp(
                incident=inc,
                title="Do it",
                owner=people[n % 5],
                due_on=timezone.localdate() - timedelta(days=n % 3),
                created_at=inc.declared_at,
            )
            for n, inc in enumerate(incidents[::10])
        ],
        batch_size=1000,
    )
    return {"people": people}


@pytest.mark.parametrize("days", [30, 90, 365])
def test_insights_page_queries_stay_bounded_with_5000_incidents(
    history, admin_user, client, days, django_assert_max_num_queries
):
    client.force_login(admin_user)
    with django_assert_max_num_queries(16):
        response = client.get(f"/insights/?days={days}")
    assert response.status_code == 200


def test_insights_for_a_responder_with_restricted_incidents_stay_bounded(
    history, client, django_assert_max_num_queries
):
    client.force_login(history["people"][0])
    with django_assert_max_num_queries(16):
        assert client.get("/insights/?days=365").status_code == 200
    with django_assert_max_num_queries(16):
        assert client.get("/follow-ups/?view=all").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get("/api/v1/insights/?days=365").status_code in (200, 401)


def test_charts_have_no_style_and_tables_beside_them(history, admin_user, client):
    client.force_login(admin_user)
    body = client.get("/insights/?days=90").content.decode()
    svgs = re.findall(r'<svg class="chart".*?</svg>', body, re.S)
    assert len(svgs) == 8
    for svg in svgs:
        assert "style" not in svg and "<script" not in svg
    assert body.count("<table") == 6  # the three clock charts share one table
    assert body.count('.csv?days=90"') >= 6


def test_the_incidents_csv_streams_the_window(history, admin_user, client):
    client.force_login(admin_user)
    response = client.get("/insights/incidents.csv?days=30")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("incident,title,severity")
    assert 400 < len(lines) - 1 < 450  # one every 100 minutes for 30 days, declined none
