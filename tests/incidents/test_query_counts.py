"""Pages cost a bounded number of queries, whatever the size of the data.

Each test measures the same page on small and large data and asserts the count
does not grow, then asserts a tight ceiling. Measured on SQLite and PostgreSQL
(sessions come from the cache, so a request's first query is the user):
room 8, older page 3, dashboard 6, list 3, quiet poll 1, poll with news 5. The
room, the dashboard and the poll with news have two queries of headroom for the
panels other apps put there; the list and the quiet poll have none. The room's
response tools (hypotheses, decisions, changes in place, verification) add four,
to the page and to a poll that brings news of them. The command panel (proposals,
tasks, workstreams, how many take part) adds four more.
"""

import re
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents import services
from incidents.selectors import TimelineCursor
from roles.services import role_assign
from tests.factories import IncidentFactory, UserFactory, bulk_entries, trained_commander

ROOM_MAX = 18
OLDER_PAGE_MAX = 3
DASHBOARD_MAX = 8
LIST_MAX = 3
QUIET_POLL_MAX = 1
POLL_WITH_NEWS_MAX = 7
POLL_WITH_TOOL_NEWS_MAX = POLL_WITH_NEWS_MAX + 4


def _count(client, url, **params) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code in (200, 204), response.status_code
    return len(queries), response


@pytest.fixture
def people(db):
    people = [UserFactory(first_name=f"Person{i}", last_name="Responder") for i in range(5)]
    trained_commander(people[0])
    return people


def _staffed_incident(people, **kwargs):
    commander, scribe, expert = people[0], people[1], people[2]
    incident = IncidentFactory(declared_by=commander, **kwargs)
    role_assign(incident=incident, role="incident_commander", user=commander, by=commander)
    role_assign(incident=incident, role="scribe", user=scribe, by=commander)
    role_assign(incident=incident, role="sme", user=expert, by=commander)
    return incident


def _lively(incident, people, count: int) -> None:
    """Entries from several people, one edited, one struck."""
    for i in range(count):
        bulk_entries(incident, people[i % len(people)], 1)
    edited = services.timeline_add(incident=incident, kind="finding", body="p95 12 s", author=people[3])
    services.timeline_edit(entry=edited, body="p95 is 12 s", by=people[3])
    struck = services.timeline_add(incident=incident, kind="note", body="wrong room", author=people[4])
    services.timeline_strike(entry=struck, by=people[4], reason="meant INC-7")


def test_the_room_with_2000_entries(rclient, people, django_assert_max_num_queries):
    small = _staffed_incident(people, severity=1)
    _lively(small, people, 3)
    big = _staffed_incident(people, severity=1)
    _lively(big, people, 5)
    bulk_entries(big, people[3], 2000)
    assert big.timeline.count() > 2000

    small_count, _ = _count(rclient, small.get_absolute_url())
    big_count, response = _count(rclient, big.get_absolute_url())

    assert big_count == small_count
    with django_assert_max_num_queries(ROOM_MAX):
        response = rclient.get(big.get_absolute_url())
    # Paged: the first page only, and the way to the rest.
    assert len(re.findall(r'<article id="entry-', response.content.decode())) == 50
    assert "Show older entries" in response.content.decode()


def test_an_older_page_of_a_long_timeline(rclient, people, hx, django_assert_max_num_queries):
    incident = _staffed_incident(people)
    entries = bulk_entries(incident, people[1], 2000)
    first = rclient.get(incident.get_absolute_url()).content.decode()
    next_page = re.search(r'hx-get="([^"]*\?before=[^"]*)"', first).group(1).replace("&amp;", "&")
    deep = entries[1000]
    cursor = TimelineCursor(deep.occurred_at, deep.pk).encode()
    deep_page = f"{incident.get_absolute_url()}?{urlencode({'before': cursor})}"
    for url in (next_page, deep_page):
        with django_assert_max_num_queries(OLDER_PAGE_MAX):
            page = rclient.get(url, headers=hx)
        assert len(re.findall(r'<article id="entry-', page.content.decode())) == 50


def test_the_dashboard_with_many_open_incidents(rclient, people, django_assert_max_num_queries):
    for severity in (1, 2, 3):
        _lively(_staffed_incident(people, severity=severity), people, 3)
    few, _ = _count(rclient, "/")

    for i in range(17):
        _lively(_staffed_incident(people, severity=1 + i % 5, is_security=i % 4 == 0), people, 1)
    many, response = _count(rclient, "/")

    # 20 open, 5 of them restricted to people the viewer is not.
    assert "15 open" in response.content.decode()
    assert many == few
    with django_assert_max_num_queries(DASHBOARD_MAX):
        rclient.get("/")


def test_the_incident_list(rclient, people, django_assert_max_num_queries):
    for _ in range(3):
        _staffed_incident(people)
    few, _ = _count(rclient, "/incidents/")
    for i in range(30):
        IncidentFactory(declared_by=people[i % 5], is_security=i % 3 == 0)
    many, _ = _count(rclient, "/incidents/")
    assert many == few
    for params in ({}, {"q": "INC-42"}, {"status": "open", "severity": "3"}, {"page": "2"}):
        with django_assert_max_num_queries(LIST_MAX):
            rclient.get("/incidents/", params)


def test_a_quiet_poll_costs_one_query(rclient, people, django_capture_on_commit_callbacks):
    incident = _staffed_incident(people)
    bulk_entries(incident, people[1], 500)
    # The services publish the revision on commit; a poll right after a change
    # is answered from what they published.
    with django_capture_on_commit_callbacks(execute=True):
        services.timeline_add(incident=incident, kind="note", body="latest", author=people[1])
    incident.refresh_from_db()

    with CaptureQueriesContext(connection) as queries:
        response = rclient.get(
            f"/incidents/{incident.number}/poll/", {"id": incident.pk, "rev": incident.revision}
        )

    assert response.status_code == 204
    # The one query is the signed-in user (the session itself comes from the cache).
    assert len(queries) == QUIET_POLL_MAX
    assert "auth_user" in queries[0]["sql"]


def test_a_quiet_poll_on_a_cold_cache_costs_two(rclient, people):
    incident = _staffed_incident(people)
    incident.refresh_from_db()
    with CaptureQueriesContext(connection) as queries:
        rclient.get(f"/incidents/{incident.number}/poll/", {"id": incident.pk, "rev": incident.revision})
    assert len(queries) == 2
    with CaptureQueriesContext(connection) as queries:
        rclient.get(f"/incidents/{incident.number}/poll/", {"id": incident.pk, "rev": incident.revision})
    assert len(queries) == 1


def test_a_poll_with_news_is_bounded(rclient, people, django_assert_max_num_queries):
    incident = _staffed_incident(people)
    bulk_entries(incident, people[1], 2000)
    incident.refresh_from_db()
    seen = incident.revision
    for i in range(10):
        services.timeline_add(incident=incident, kind="note", body=f"news {i}", author=people[i % 5])
    with django_assert_max_num_queries(POLL_WITH_NEWS_MAX):
        response = rclient.get(f"/incidents/{incident.number}/poll/", {"id": incident.pk, "rev": seen})
    assert response.status_code == 200
    assert len(re.findall(r'<article id="entry-', response.content.decode())) == 10


def test_the_room_with_5000_entries_500_changes_and_200_hypotheses(
    rclient, people, django_assert_max_num_queries
):
    from incidents.models import Change, Hypothesis

    small = _staffed_incident(people, severity=1)
    _lively(small, people, 3)
    Change.objects.create(incident=small, what="pool", where="db", new_value="80")
    Hypothesis.objects.create(incident=small, statement="DNS")
    big = _staffed_incident(people, severity=1)
    bulk_entries(big, people[3], 5000)
    Change.objects.bulk_create(
        Change(incident=big, what=f"flag {i}", where="LD", old_value="on", new_value="off")
        for i in range(500)
    )
    Hypothesis.objects.bulk_create(
        Hypothesis(incident=big, statement=f"suspect {i}", state="open" if i % 2 else "ruled_out")
        for i in range(200)
    )
    small_count, _ = _count(rclient, small.get_absolute_url())
    big_count, response = _count(rclient, big.get_absolute_url())
    assert big_count <= small_count + 2  # at most the two counts of lists cut at their limit
    with django_assert_max_num_queries(ROOM_MAX + 2):
        response = rclient.get(big.get_absolute_url())
    html = response.content.decode()
    assert 'Changes in place <span class="count">500</span>' in html
    assert "And 150 more" in html
    # The board lists 50, but counts every open one (100 of the 200), in the same query as the rest.
    assert 'Hypotheses <span class="count">100 open</span>' in html


def test_a_poll_with_news_of_the_response_tools_is_bounded(rclient, people, django_assert_max_num_queries):
    from incidents.services import tools

    incident = _staffed_incident(people, severity=1)
    bulk_entries(incident, people[1], 2000)
    incident.refresh_from_db()
    seen = incident.revision
    for i in range(5):
        tools.change_record(incident=incident, by=people[0], what=f"flag {i}", where="LD", new_value="off")
        tools.hypothesis_raise(incident=incident, by=people[1], statement=f"suspect {i}")
    with django_assert_max_num_queries(POLL_WITH_TOOL_NEWS_MAX):
        response = rclient.get(f"/incidents/{incident.number}/poll/", {"id": incident.pk, "rev": seen})
    assert 'id="room-tools"' in response.content.decode()
