"""The live room's poll: nothing new is an empty 204; news is the changed parts, out of band."""

import re

import pytest

from incidents import services
from incidents.services import room_revision_key
from tests.factories import UserFactory
from tests.incidents.pages import oob_targets, text_of


def _poll(client, incident, rev=None, **params):
    incident.refresh_from_db()
    query = {"id": incident.pk, "rev": incident.revision if rev is None else rev, **params}
    return client.get(f"/incidents/{incident.number}/poll/", query)


@pytest.fixture
def colleague(db):
    return UserFactory(first_name="Sasha", last_name="Expert")


def test_nothing_new_is_a_204_with_no_body(rclient, incident):
    response = _poll(rclient, incident)
    assert response.status_code == 204
    assert response.content == b""
    # The next poll is answered from the cache the first one filled.
    response = _poll(rclient, incident)
    assert response.status_code == 204
    assert response.content == b""
    assert "no-cache" in response.headers["Cache-Control"]


def test_a_browser_ahead_of_the_server_gets_nothing(rclient, incident):
    assert _poll(rclient, incident, rev=10**6).status_code == 204


def test_a_new_entry_comes_with_the_new_revision(
    rclient, incident, colleague, django_capture_on_commit_callbacks
):
    incident.refresh_from_db()
    seen = incident.revision
    with django_capture_on_commit_callbacks(execute=True):
        entry = services.timeline_add(
            incident=incident, kind="finding", body="p95 is **12 s**", author=colleague
        )

    response = _poll(rclient, incident, rev=seen)

    assert response.status_code == 200
    content = response.content.decode()
    targets = oob_targets(response)
    assert {"room-poller", "room-header", "afterbegin:#timeline-entries"} <= set(targets)
    # A finding changes neither the controls nor the roles panel: a half-typed
    # status note or page message survives.
    assert "room-controls" not in targets
    assert "room-roles" not in targets
    new = content[content.index('hx-swap-oob="afterbegin:#timeline-entries"') :]
    assert f'<article id="entry-{entry.pk}"' in new
    assert "p95 is <strong>12 s</strong>" in new
    assert "Sasha Expert" in text_of(new)
    assert f"rev={seen + 1}" in content
    assert f'id="room-rev" name="rev" value="{seen + 1}"' in content
    # Only what is new: the declaration the browser has already is not sent again.
    assert len(re.findall(r"<article id=", content)) == 1

    # And once the browser has it, the room is quiet again.
    assert _poll(rclient, incident, rev=seen + 1).status_code == 204


def test_a_role_change_redraws_the_roles_panel(rclient, incident, colleague):
    from roles.services import role_assign

    incident.refresh_from_db()
    seen = incident.revision
    role_assign(incident=incident, role="scribe", user=colleague, by=colleague)

    response = _poll(rclient, incident, rev=seen)

    assert "room-roles" in oob_targets(response)
    assert "Scribe" in text_of(response)


def test_new_entries_arrive_newest_first(rclient, incident, colleague):
    incident.refresh_from_db()
    seen = incident.revision
    first = services.timeline_add(incident=incident, kind="note", body="first", author=colleague)
    second = services.timeline_add(incident=incident, kind="note", body="second", author=colleague)
    ids = [
        int(pk)
        for pk in re.findall(
            r'<article id="entry-(\d+)"', _poll(rclient, incident, rev=seen).content.decode()
        )
    ]
    assert ids == [second.pk, first.pk]


def test_an_edited_entry_replaces_itself_in_place(rclient, incident, colleague):
    entry = services.timeline_add(incident=incident, kind="note", body="DB fine", author=colleague)
    incident.refresh_from_db()
    seen = incident.revision
    services.timeline_edit(entry=entry, body="DB **not** fine", by=colleague)

    response = _poll(rclient, incident, rev=seen)

    content = response.content.decode()
    assert f"entry-{entry.pk}" in oob_targets(response)
    assert "afterbegin:#timeline-entries" not in oob_targets(response)
    assert "DB <strong>not</strong> fine" in content


def test_a_struck_entry_replaces_itself_in_place(rclient, incident, colleague):
    entry = services.timeline_add(incident=incident, kind="note", body="DB fine", author=colleague)
    incident.refresh_from_db()
    seen = incident.revision
    services.timeline_strike(entry=entry, by=colleague, reason="wrong room")
    response = _poll(rclient, incident, rev=seen)
    assert f"entry-{entry.pk}" in oob_targets(response)
    assert "<del>" in response.content.decode()


def _controls(content: str) -> str:
    return re.search(r'<section id="room-controls".*?</section>', content, flags=re.DOTALL).group(0)


@pytest.mark.parametrize(
    ("change", "shows_it"),
    [
        (
            lambda i, u: services.incident_change_status(incident=i, status="identified", by=u),
            # An identified incident can no longer be declined.
            lambda controls: 'value="monitoring"' in controls and 'value="declined"' not in controls,
        ),
        (
            lambda i, u: services.incident_change_severity(incident=i, severity=1, by=u),
            lambda controls: re.search(r'<option value="1"\s+selected>', controls),
        ),
        (
            lambda i, u: services.incident_set_deploy_freeze(incident=i, freeze=True, by=u),
            lambda controls: "Lift deploy freeze" in controls,
        ),
    ],
    ids=["status", "severity", "freeze"],
)
def test_a_state_change_also_refreshes_the_controls(rclient, incident, colleague, change, shows_it):
    incident.refresh_from_db()
    seen = incident.revision
    assert not shows_it(_controls(rclient.get("/incidents/1/").content.decode()))
    change(incident, colleague)
    response = _poll(rclient, incident, rev=seen)
    assert "room-controls" in oob_targets(response)
    assert shows_it(_controls(response.content.decode()))


def test_a_room_far_behind_reloads(rclient, incident, colleague, settings):
    incident.refresh_from_db()
    seen = incident.revision
    for i in range(101):
        services.timeline_add(incident=incident, kind="note", body=f"n{i}", author=colleague)
    response = _poll(rclient, incident, rev=seen)
    assert response.status_code == 200
    assert response.headers["HX-Refresh"] == "true"


@pytest.mark.parametrize(
    "params",
    [{"rev": "abc"}, {"rev": ""}, {"rev": "1.5"}, {"id": "abc"}, {"id": ""}, {"id": "-1"}],
)
def test_bad_parameters_are_a_400(rclient, incident, params):
    response = _poll(rclient, incident, **params)
    assert response.status_code == 400


def test_missing_parameters_are_a_400(rclient, incident):
    assert rclient.get("/incidents/1/poll/").status_code == 400
    assert rclient.get("/incidents/1/poll/", {"rev": "1"}).status_code == 400


def test_a_superscript_id_is_a_400(rclient, incident):
    assert _poll(rclient, incident, id="²").status_code == 400


def test_an_unknown_incident_is_a_404(rclient, incident):
    assert rclient.get("/incidents/1/poll/", {"id": 999999, "rev": 0}).status_code == 404
    assert rclient.get("/incidents/999/poll/", {"id": 999999, "rev": 0}).status_code == 404
    assert rclient.get("/incidents/1/poll/", {"id": 10**30, "rev": 0}).status_code == 404


def test_it_requires_login(client, incident):
    response = _poll(client, incident)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts/login/")


class _BrokenCache:
    def get(self, *args, **kwargs):
        raise ConnectionError("cache is down")

    set = get


def test_a_cache_outage_falls_back_to_the_database(rclient, incident, monkeypatch):
    monkeypatch.setattr("incidents.selectors.cache", _BrokenCache())
    assert _poll(rclient, incident).status_code == 204
    assert _poll(rclient, incident, rev=0).status_code == 200


def test_a_cache_outage_does_not_take_the_pages_down(rclient, incident, monkeypatch):
    from django.core.cache import caches

    default = caches["default"]

    def down(*args, **kwargs):
        raise ConnectionError("cache is down")

    monkeypatch.setattr(default, "get", down)
    monkeypatch.setattr(default, "set", down)
    assert rclient.get("/incidents/1/").status_code == 200


def test_a_stale_cache_entry_is_not_trusted_for_a_restricted_incident(client, outsider, security_incident):
    from django.core.cache import cache

    # Even if the cache says "not restricted" (a stale or forged value), the
    # incident's own row decides once the cached value says it is restricted;
    # here the value is honest, and the outsider gets nothing.
    cache.set(room_revision_key(security_incident.pk), (security_incident.revision, True))
    client.force_login(outsider)
    assert _poll(client, security_incident, rev=0).status_code == 404


def test_an_entry_the_portal_wrote_arrives_signed_coolhead(rclient, incident):
    incident.refresh_from_db()
    seen = incident.revision
    services.timeline_record(incident=incident, kind="alert", body="DiskFull on db1", author=None)
    response = _poll(rclient, incident, rev=seen)
    assert response.status_code == 200
    new = response.content.decode()[response.content.decode().index("afterbegin:#timeline-entries") :]
    assert "DiskFull on db1" in text_of(new)
    assert "Coolhead" in text_of(new)
