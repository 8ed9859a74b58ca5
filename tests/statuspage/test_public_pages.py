"""The public pages: what they show, and that they stay up, cacheable and cookie-free."""

from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test import Client

from statuspage import public_cache

PUBLIC_URLS = [
    "/status/",
    "/status/history/",
    "/status/history.atom",
    "/status/history.rss",
    "/status/api/v2/summary.json",
    "/status/api/v2/status.json",
    "/status/api/v2/components.json",
    "/status/api/v2/incidents.json",
    "/status/api/v2/incidents/unresolved.json",
    "/status/api/v2/scheduled-maintenances.json",
    "/status/api/v2/scheduled-maintenances/upcoming.json",
    "/status/api/v2/scheduled-maintenances/active.json",
]


def refuse_queries(execute, sql, params, many, context):
    raise OperationalError("connection to server failed: the database is down")


class BrokenCache:
    """Redis is down: every call fails, as the real client does after its timeout."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("Error 111 connecting to redis. Connection refused.")

        return fail


def test_it_shows_components_with_status_and_uptime(client, components, liaison, incident, publish):
    publish(
        incident=incident,
        by=liaison,
        component_statuses={components["api"].public_id: "partial_outage"},
    )
    html = client.get("/status/").content.decode()
    assert "Minor Service Outage" in html or "Partial System Outage" in html
    assert "Website" in html and "Platform" in html and "API" in html
    assert "Partial outage" in html
    assert "% uptime" in html
    assert "Checkout errors" in html
    assert "We are looking into failed payments." in html
    assert 'href="/status/subscribe/"' in html


def test_the_page_uses_no_third_party_assets_and_no_scripts(client, components):
    html = client.get("/status/").content.decode()
    assert "<script" not in html
    assert "http://" not in html.replace("http://www.w3.org", "")
    assert "https://" not in html.replace("https://status.acme.test", "")
    assert '<meta name="viewport"' in html
    assert '<html lang="en">' in html


@pytest.mark.parametrize("url", PUBLIC_URLS)
def test_public_documents_set_no_cookie_and_do_not_vary_on_cookie(
    url, components, incident, liaison, publish
):
    publish(incident=incident, by=liaison)
    client = Client()
    for _ in range(2):  # a miss, then a hit
        response = client.get(url)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers
        assert not response.cookies
        assert "cookie" not in response.headers.get("Vary", "").lower()
        assert response.headers["Cache-Control"].startswith("public, max-age=")
        assert "stale-while-revalidate=" in response.headers["Cache-Control"]
        assert response.headers["ETag"].startswith('"')


def test_the_incident_page_sets_no_cookie_for_a_signed_in_visitor(client, liaison, incident, publish):
    update = publish(incident=incident, by=liaison)
    client.force_login(liaison)
    response = client.get(f"/status/incidents/{update.public_incident.public_id}/")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert "cookie" not in response.headers.get("Vary", "").lower()


def test_an_etag_that_matches_gets_a_304(client, components):
    first = client.get("/status/api/v2/status.json")
    again = client.get("/status/api/v2/status.json", HTTP_IF_NONE_MATCH=first.headers["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    other = client.get("/status/api/v2/status.json", HTTP_IF_NONE_MATCH='"something-else"')
    assert other.status_code == 200


def test_a_cache_hit_costs_no_database_query(client, components, django_assert_num_queries):
    public_cache.refresh()
    for url in PUBLIC_URLS:
        with django_assert_num_queries(0):
            assert client.get(url).status_code == 200


def test_publishing_refreshes_the_cached_page_and_json(client, components, liaison, incident, publish):
    before = client.get("/status/api/v2/status.json").json()
    assert before["status"]["indicator"] == "none"
    publish(incident=incident, by=liaison, component_statuses={components["api"].public_id: "major_outage"})
    after = client.get("/status/api/v2/status.json").json()
    # A major outage makes the incident's impact critical, and the roll-up follows it.
    assert after["status"] == {"indicator": "critical", "description": "Major Service Outage"}
    assert "Checkout errors" in client.get("/status/").content.decode()


def test_with_the_database_down_the_page_and_json_answer_from_the_snapshot(
    client, components, liaison, incident, publish
):
    publish(incident=incident, by=liaison, component_statuses={components["api"].public_id: "partial_outage"})
    from tests.conftest import _clear_cache

    _clear_cache()  # a cold cache forces a render, and the database is down
    with connection.execute_wrapper(refuse_queries):
        page = client.get("/status/")
        summary = client.get("/status/api/v2/summary.json")
    assert page.status_code == 200
    assert "Checkout errors" in page.content.decode()
    assert summary.status_code == 200
    assert summary.json()["incidents"][0]["name"] == "Checkout errors"


def test_with_redis_down_the_page_and_json_answer_from_the_snapshot(
    client, components, liaison, incident, publish, django_assert_num_queries
):
    publish(incident=incident, by=liaison)
    with mock.patch.object(public_cache, "cache", BrokenCache()):
        with django_assert_num_queries(0):
            page = client.get("/status/")
            status = client.get("/status/api/v2/status.json")
    assert page.status_code == 200
    assert "Checkout errors" in page.content.decode()
    assert status.status_code == 200
    assert status.json()["page"]["name"] == "Acme"


def test_with_redis_and_the_database_down_the_snapshot_still_answers(
    client, components, liaison, incident, publish
):
    update = publish(incident=incident, by=liaison)
    with mock.patch.object(public_cache, "cache", BrokenCache()), connection.execute_wrapper(refuse_queries):
        for url in [*PUBLIC_URLS, f"/status/incidents/{update.public_incident.public_id}/"]:
            response = client.get(url)
            assert response.status_code == 200, url
            assert "Set-Cookie" not in response.headers


def test_with_redis_down_and_no_snapshot_it_renders_from_the_database(client, components, snapshot_dir):
    with mock.patch.object(public_cache, "cache", BrokenCache()):
        response = client.get("/status/api/v2/components.json")
    assert response.status_code == 200
    assert [c["name"] for c in response.json()["components"]] == ["Website", "Platform", "API", "Dashboard"]


def test_with_everything_down_and_no_snapshot_it_says_so_with_a_503(client, components):
    with mock.patch.object(public_cache, "cache", BrokenCache()), connection.execute_wrapper(refuse_queries):
        response = client.get("/status/")
    assert response.status_code == 503
    assert response.headers["Retry-After"]


def test_an_unknown_incident_id_is_a_404(client, components):
    assert client.get("/status/incidents/abcdefghijkl/").status_code == 404
    assert client.get("/status/incidents/NOT-AN-ID/").status_code == 404
    assert client.get("/status/maintenances/abcdefghijkl.ics").status_code == 404
    assert client.get("/status/api/v2/nothing.json").status_code == 404


def test_the_cache_bypass_is_off_unless_the_benchmark_flag_is_set(client, components, settings):
    public_cache.refresh()
    components["website"].name = "Renamed in the database only"
    components["website"].save()
    assert "Renamed" not in client.get("/status/?fresh=1").content.decode()
    settings.STATUSPAGE_ALLOW_CACHE_BYPASS = True
    assert "Renamed" in client.get("/status/?fresh=1").content.decode()


def test_history_lists_published_incidents(client, components, liaison, incident, publish):
    update = publish(incident=incident, by=liaison, title="Slow dashboard")
    html = client.get("/status/history/").content.decode()
    assert "Slow dashboard" in html
    assert f"/status/incidents/{update.public_incident.public_id}/" in html


def test_the_incident_page_shows_every_update_newest_first(client, components, liaison, incident, publish):
    publish(incident=incident, by=liaison, body="First we looked.")
    update = publish(incident=incident, by=liaison, status="identified", body="Then we found it.")
    html = client.get(f"/status/incidents/{update.public_incident.public_id}/").content.decode()
    assert html.index("Then we found it.") < html.index("First we looked.")
    # Statuspage shortlinks have no trailing slash.
    assert client.get(f"/status/incidents/{update.public_incident.public_id}").status_code == 200


def test_an_older_rendering_does_not_overwrite_a_newer_one(client, components):
    public_cache.refresh()
    components["website"].name = "Renamed"
    components["website"].save()
    # Another refresh, of newer data, finished first.
    public_cache.cache.set(public_cache.STATE_STAMP_KEY, 2**40)
    public_cache.refresh(force=False)
    assert "Renamed" not in client.get("/status/").content.decode()
    public_cache.refresh(force=True)
    assert "Renamed" in client.get("/status/").content.decode()


def test_a_public_incident_taken_down_in_the_admin_leaves_every_surface(
    client, admin_user, components, liaison, incident, publish, django_capture_on_commit_callbacks
):
    update = publish(incident=incident, by=liaison, title="Mistaken post")
    url = f"/status/incidents/{update.public_incident.public_id}/"
    assert client.get(url).status_code == 200
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/admin/statuspage/publicincident/{update.public_incident.pk}/delete/", {"post": "yes"}
        )
    assert response.status_code == 302
    client.logout()
    assert client.get(url).status_code == 404
    for public_url in PUBLIC_URLS:
        assert "Mistaken post" not in client.get(public_url).content.decode(), public_url


def test_an_old_incident_outside_the_recent_set_is_rendered_on_demand_and_cached(
    client, components, liaison, incident, publish, monkeypatch, django_assert_num_queries
):
    from roles.models import RoleAssignment
    from statuspage import selectors
    from tests.factories import IncidentFactory

    monkeypatch.setattr(selectors, "RECENT_LIMIT", 1)
    monkeypatch.setattr(selectors.public_incidents_recent, "__defaults__", (1,))
    old = publish(incident=incident, by=liaison, title="Old news", status="resolved", body="Done.")
    newer = IncidentFactory()
    RoleAssignment.objects.create(incident=newer, role="customer_liaison", user=liaison)
    publish(incident=newer, by=liaison, title="Newer news")
    url = f"/status/incidents/{old.public_incident.public_id}/"
    first = client.get(url)
    assert first.status_code == 200 and "Old news" in first.content.decode()
    with django_assert_num_queries(0):
        assert client.get(url).status_code == 200


def test_a_refresh_costs_the_same_queries_whatever_the_number_of_incidents(
    components, liaison, publish, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from roles.models import RoleAssignment
    from tests.factories import IncidentFactory

    def add_incidents(count):
        for _ in range(count):
            incident = IncidentFactory()
            RoleAssignment.objects.create(incident=incident, role="customer_liaison", user=liaison)
            outage = {components["api"].public_id: "major_outage"}
            publish(incident=incident, by=liaison, component_statuses=outage)
            publish(incident=incident, by=liaison, status="resolved", body="Over.")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            public_cache.refresh()
        return len(captured)

    add_incidents(2)
    few = queries()
    add_incidents(6)
    assert queries() == few


def test_with_a_real_redis_client_that_cannot_connect_the_snapshot_answers(
    client, components, liaison, incident, publish
):
    from django.core.cache.backends.redis import RedisCache

    publish(incident=incident, by=liaison)
    # Nothing listens on port 1: the real client fails the way it does when Redis is stopped.
    options = {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}
    dead = RedisCache("redis://127.0.0.1:1/0", {"OPTIONS": options})
    with mock.patch.object(public_cache, "cache", dead):
        page = client.get("/status/")
        summary = client.get("/status/api/v2/summary.json")
    assert page.status_code == 200 and "Checkout errors" in page.content.decode()
    assert summary.status_code == 200 and summary.json()["incidents"][0]["name"] == "Checkout errors"
