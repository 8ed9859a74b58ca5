"""The room's customer panels: they load after the room (no query more for it), show what each person
may do, re-load when an entry about customers arrives, and cost a bounded number of queries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import DirectUpdate
from customers.services import customer_create
from incidents import services as incident_services
from roles.services import role_assign
from tests.api.conftest import TokenClient, assert_error
from tests.factories import IncidentFactory, UserFactory

HX = {"HX-Request": "true"}


def _panel(client, incident):
    return client.get(f"/incidents/{incident.number}/customers/", headers=HX)


def test_the_room_has_the_slots_and_the_panel_loads_after(client, sev1, liaison, acme, globex):
    client.force_login(liaison)
    room = client.get(sev1.get_absolute_url()).content.decode()
    assert 'id="room-customers"' in room and f'hx-get="/incidents/{sev1.number}/customers/"' in room
    assert "Jane Roe" not in room  # the customers come with the panel, not the room

    html = _panel(client, sev1).content.decode()
    assert "Acme Corp" in html and "Globex" in html and "Jane Roe" in html
    assert "Take off the list" in html and "Give an ETA" in html
    compose = client.get(f"/incidents/{sev1.number}/customers/compose/", headers=HX).content.decode()
    assert (
        "Tell the customers directly" in compose and "primary <strong>and</strong> their alternate" in compose
    )


def test_others_see_the_list_without_the_forms(client, sev1, acme):
    client.force_login(UserFactory())
    html = _panel(client, sev1).content.decode()
    assert "Acme Corp" in html and "Take off the list" not in html and "Give an ETA" not in html
    compose = client.get(f"/incidents/{sev1.number}/customers/compose/", headers=HX).content.decode()
    assert "<form" not in compose


def test_an_outsider_does_not_see_a_restricted_incidents_customers(client, commander, acme, checkout):
    incident = IncidentFactory(declared_by=commander, severity=3, is_security=True, services=[checkout])
    client.force_login(UserFactory())
    assert _panel(client, incident).status_code == 404
    assert client.post(f"/incidents/{incident.number}/customers/update/", {"text": "hi"}).status_code == 404
    api = TokenClient(UserFactory())
    assert_error(api.get(f"/api/v1/incidents/{incident.pk}/customers/"), 404)


def test_the_liaison_sends_from_the_room_and_the_call_reminder_shows(
    client, sev1, liaison, acme, globex, django_capture_on_commit_callbacks
):
    client.force_login(liaison)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/incidents/{sev1.number}/customers/update/",
            {"to": "all", "subject": "Checkout problems", "text": "Hello {customer}", "eta_in": "120"},
            headers=HX,
        )
    assert response.status_code == 200
    assert "Sent to 2 customers." in response.content.decode()
    sev1.refresh_from_db()
    assert sev1.eta is not None and timedelta(minutes=119) < sev1.eta - timezone.now() <= timedelta(
        minutes=120
    )

    html = _panel(client, sev1).content.decode()
    assert "Call the affected customers." in html and "+1 555 0100" in html
    response = client.post(
        f"/incidents/{sev1.number}/customers/calls/",
        {"customer": acme.pk, "outcome": "called", "note": "Jane knows"},
        headers=HX,
    )
    assert response.status_code == 200
    assert f'id="call-{acme.pk}"' not in response.content.decode()
    assert f'id="call-{globex.pk}"' in response.content.decode()


def test_a_refused_form_says_why_and_writes_nothing(client, sev1, liaison, acme):
    client.force_login(liaison)
    response = client.post(
        f"/incidents/{sev1.number}/customers/calls/", {"customer": acme.pk, "outcome": "skipped"}, headers=HX
    )
    assert response.status_code == 422 and "Say why the call is skipped." in response.content.decode()
    response = client.post(
        f"/incidents/{sev1.number}/customers/update/", {"to": "all", "text": ""}, headers=HX
    )
    assert response.status_code == 422 and not DirectUpdate.objects.exists()
    response = client.post(
        f"/incidents/{sev1.number}/customers/update/", {"to": "chosen", "text": "Hi"}, headers=HX
    )
    assert response.status_code == 422 and "Choose at least one" in response.content.decode()


def test_the_room_reloads_the_panel_when_news_of_customers_arrives(
    client, sev1, liaison, acme, django_capture_on_commit_callbacks
):
    client.force_login(liaison)
    seen = sev1.revision
    with django_capture_on_commit_callbacks(execute=True):  # the room's revision, in the cache
        incident_services.timeline_add(incident=sev1, kind="note", body="Just a note", author=liaison)
    quiet = client.get(f"/incidents/{sev1.number}/poll/", {"id": sev1.pk, "rev": seen}).content.decode()
    assert "room-customers" not in quiet
    sev1.refresh_from_db()
    seen = sev1.revision
    with django_capture_on_commit_callbacks(execute=True):
        incident_services.incident_set_eta(incident=sev1, by=liaison, eta=timezone.now() + timedelta(hours=2))
    news = client.get(f"/incidents/{sev1.number}/poll/", {"id": sev1.pk, "rev": seen}).content.decode()
    assert 'id="room-customers-refresh" hidden hx-swap-oob="true"' in news
    assert (
        f'hx-get="/incidents/{sev1.number}/customers/" hx-trigger="load" hx-target="#room-customers"' in news
    )
    assert "room-customers-compose" not in news  # a half-written update is never wiped


@pytest.mark.parametrize("count", [2, 30])
def test_the_panel_costs_a_bounded_number_of_queries(
    count, client, sev1, liaison, checkout, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    for i in range(count):
        customer_create(
            name=f"Customer {i:02d}",
            services=[checkout],
            contacts=[{"name": f"C{i}", "email": f"c{i}@customer{i}.example", "phone": "+1 555 0100"}],
        )
    with django_capture_on_commit_callbacks(execute=True):
        from customers.services import direct_update_send

        direct_update_send(incident=sev1, by=liaison, text="Hello", eta=timezone.now() + timedelta(hours=2))
    client.force_login(liaison)
    # The person, the incident, its role holders, the seven reads of the list, the customers to add.
    with django_assert_max_num_queries(11):
        response = _panel(client, sev1)
    assert response.content.decode().count('class="customer"') == count


def test_the_api_lists_sends_and_refuses(sev1, liaison, acme, globex, django_capture_on_commit_callbacks):
    api = TokenClient(liaison)
    listing = api.get(f"/api/v1/incidents/{sev1.pk}/customers/").json()
    assert [a["name"] for a in listing["affected"]] == ["Acme Corp", "Globex"]
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/incidents/{sev1.pk}/customers/updates/",
            {"text": "Hello {customer}", "customers": [globex.pk]},
            format="json",
        )
    assert response.status_code == 201, response.content
    assert response.json()["customers"] == [globex.pk] and response.json()["both_addresses"] is True
    listing = api.get(f"/api/v1/incidents/{sev1.pk}/customers/").json()
    globex_row = next(a for a in listing["affected"] if a["name"] == "Globex")
    assert {d["state"] for d in globex_row["deliveries"]} == {"delivered"}

    eta = (timezone.now() + timedelta(hours=3)).isoformat()
    assert api.post(f"/api/v1/incidents/{sev1.pk}/eta/", {"eta": eta}, format="json").status_code == 200
    call = api.post(
        f"/api/v1/incidents/{sev1.pk}/customers/calls/",
        {"customer": acme.pk, "outcome": "called", "note": "ok"},
        format="json",
    )
    assert call.status_code == 200

    sme = UserFactory()
    role_assign(incident=sev1, role="sme", user=sme, by=None)
    refused = TokenClient(sme).post(
        f"/api/v1/incidents/{sev1.pk}/customers/updates/", {"text": "Hello"}, format="json"
    )
    assert_error(refused, 403, "permission_denied")


def test_the_answer_to_a_form_brings_the_rooms_news_without_loading_the_panel_again(
    client, sev1, liaison, acme
):
    client.force_login(liaison)
    sev1.refresh_from_db()
    response = client.post(
        f"/incidents/{sev1.number}/customers/remove/",
        {"customer": acme.pk, "reason": "US only", "rev": sev1.revision},
        headers=HX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith('<section id="room-customers"')  # the panel that was used
    assert "taken off the affected customers: US only" in html  # the new entry, for the timeline
    sev1.refresh_from_db()
    assert f'value="{sev1.revision}"' in html  # the room now knows it has seen it
    assert "room-customers-refresh" not in html  # so the panel is not loaded once more


def test_the_panel_follows_a_fresh_updates_deliveries_for_a_while_only(client, sev1, liaison, acme):
    import time_machine

    from customers.services import direct_update_send

    direct_update_send(incident=sev1, by=liaison, text="Hello")  # no worker has sent it yet
    client.force_login(liaison)
    html = _panel(client, sev1).content.decode()
    assert "4 sending" in html and 'hx-trigger="every 4s"' in html
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        assert 'hx-trigger="every 4s"' not in _panel(client, sev1).content.decode()


def test_a_plain_status_change_does_not_reload_the_panel_but_a_resolve_does(
    client, sev1, commander, liaison, acme, django_capture_on_commit_callbacks
):
    from incidents.services.tools import verification_record

    client.force_login(liaison)
    sev1.refresh_from_db()
    seen = sev1.revision
    with django_capture_on_commit_callbacks(execute=True):
        incident_services.incident_change_status(incident=sev1, status="identified", by=commander)
    news = client.get(f"/incidents/{sev1.number}/poll/", {"id": sev1.pk, "rev": seen}).content.decode()
    assert "Status change" in news and "room-customers-refresh" not in news
    sev1.refresh_from_db()
    seen = sev1.revision
    with django_capture_on_commit_callbacks(execute=True):
        verification_record(incident=sev1, by=commander, checked="Orders go through")
        incident_services.incident_change_status(incident=sev1, status="resolved", by=commander)
    news = client.get(f"/incidents/{sev1.number}/poll/", {"id": sev1.pk, "rev": seen}).content.decode()
    assert "room-customers-refresh" in news
