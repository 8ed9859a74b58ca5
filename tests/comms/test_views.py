"""The bell, the notifications page and the outbox, with who may see what."""

import pytest
from django.urls import reverse

from comms.models import Channel, Delivery
from comms.selectors import email_channel, in_app_channel
from comms.services import Recipient, message_send
from tests.factories import IncidentFactory, UserFactory


def _notify(user, subject="You are paged", incident=None, body="Checkout **fails**"):
    return message_send(
        kind="page",
        subject=subject,
        body=body,
        incident=incident,
        recipients=[Recipient(channel=in_app_channel(), user=user)],
    )


def _email(subject, incident=None, address="x@example.com"):
    return message_send(
        kind="executive_summary",
        subject=subject,
        body="Summary",
        incident=incident,
        recipients=[Recipient(channel=email_channel(), address=address)],
    )


# --- Bell and notifications ---------------------------------------------------------------


def test_the_bell_shows_the_unread_count(client, responder):
    _notify(responder)
    _notify(responder, subject="Second")
    _notify(UserFactory(), subject="Someone else's")
    client.force_login(responder)
    response = client.get(reverse("notifications_bell"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert '<span class="bell-count">2</span>' in response.text
    assert "2 unread notifications" in response.text


def test_the_bell_without_unread_shows_no_count(client, responder):
    client.force_login(responder)
    response = client.get(reverse("notifications_bell"))
    assert "bell-count" not in response.text


def test_the_bell_for_a_signed_out_browser_swaps_nothing(client, db):
    assert client.get(reverse("notifications_bell")).status_code == 204


def test_every_page_has_the_bell_polled_by_htmx(client, responder):
    client.force_login(responder)
    response = client.get(reverse("dashboard"))
    assert 'id="notification-bell"' in response.text
    assert f'hx-get="{reverse("notifications_bell")}"' in response.text


def test_the_notifications_page_lists_mine_newest_first(client, responder):
    _notify(responder, subject="Older")
    _notify(responder, subject="Newer", body="<script>alert(1)</script> **bold**")
    _notify(UserFactory(), subject="Not mine")
    client.force_login(responder)
    response = client.get(reverse("notifications"))
    assert response.status_code == 200
    text = response.text
    assert text.index("Newer") < text.index("Older")
    assert "Not mine" not in text
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;" in text
    assert "<strong>bold</strong>" in text


def test_mark_one_read_updates_the_item_and_the_bell(client, responder):
    message = _notify(responder)
    _notify(responder, subject="Other")
    delivery = message.deliveries.get()
    client.force_login(responder)
    response = client.post(reverse("notifications_read"), {"id": delivery.pk}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'hx-swap-oob="innerHTML"' in response.text
    assert '<span class="bell-count">1</span>' in response.text
    delivery.refresh_from_db()
    assert delivery.read_at is not None


def test_mark_all_read(client, responder):
    _notify(responder)
    _notify(responder)
    client.force_login(responder)
    response = client.post(reverse("notifications_read"))
    assert response.status_code == 302
    assert not Delivery.objects.filter(user=responder, read_at__isnull=True).exists()


def test_nobody_can_mark_someone_elses_notification_read(client, responder, outsider):
    delivery = _notify(responder).deliveries.get()
    client.force_login(outsider)
    response = client.post(reverse("notifications_read"), {"id": delivery.pk}, headers={"HX-Request": "true"})
    assert response.status_code == 404
    delivery.refresh_from_db()
    assert delivery.read_at is None


def test_mark_read_with_a_bad_id_is_a_400(client, responder):
    client.force_login(responder)
    assert client.post(reverse("notifications_read"), {"id": "abc"}).status_code == 400


def test_a_notification_about_a_restricted_incident_the_user_cannot_see_is_hidden(
    client, outsider, security_incident
):
    _notify(outsider, subject="Secret thing happened", incident=security_incident)
    client.force_login(outsider)
    assert "Secret thing" not in client.get(reverse("notifications")).text
    assert "bell-count" not in client.get(reverse("notifications_bell")).text


def test_notifications_need_a_sign_in(client, db):
    response = client.get(reverse("notifications"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# --- The outbox --------------------------------------------------------------------------------


def test_admins_see_every_message_with_its_delivery_states(client, admin_user, incident, security_incident):
    _email("About checkout", incident=incident)
    _email("About the leak", incident=security_incident)
    _email("No incident")
    client.force_login(admin_user)
    response = client.get(reverse("outbox"))
    assert response.status_code == 200
    for subject in ("About checkout", "About the leak", "No incident"):
        assert subject in response.text
    assert "1 pending" in response.text


def test_the_outbox_filters_by_incident_and_state(client, admin_user, incident, security_incident):
    _email("About checkout", incident=incident)
    _email("About the leak", incident=security_incident)
    Delivery.objects.filter(message__subject="About the leak").update(state=Delivery.State.DEAD)
    client.force_login(admin_user)
    by_incident = client.get(reverse("outbox"), {"incident": incident.reference}).text
    assert "About checkout" in by_incident and "About the leak" not in by_incident
    by_state = client.get(reverse("outbox"), {"state": "dead"}).text
    assert "About the leak" in by_state and "About checkout" not in by_state
    partial = client.get(reverse("outbox"), {"state": "dead"}, headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith('<div id="results">')


@pytest.mark.parametrize("query", [{"incident": "checkout"}, {"state": "lost"}])
def test_a_bad_outbox_filter_is_a_422_with_a_message(client, admin_user, query):
    client.force_login(admin_user)
    response = client.get(reverse("outbox"), query)
    assert response.status_code == 422
    assert 'role="alert"' in response.text
    partial = client.get(reverse("outbox"), query, headers={"HX-Request": "true"})
    assert partial.status_code == 422
    assert partial.text.lstrip().startswith('<div id="results">')


def test_being_staff_is_not_enough_for_the_whole_outbox(client, staff_user, incident):
    # Account mail (password reset links) sits in the outbox: reading all of it is
    # the comms.view_outbox permission (superusers), not the staff flag.
    _email("About checkout", incident=incident)
    client.force_login(staff_user)
    assert client.get(reverse("outbox")).status_code == 403
    assert f'href="{reverse("outbox")}"' not in client.get(reverse("dashboard")).text


def test_the_outbox_permission_opens_it_without_being_superuser(client, staff_user, incident):
    from django.contrib.auth.models import Permission

    _email("About checkout", incident=incident)
    staff_user.user_permissions.add(Permission.objects.get(codename="view_outbox"))
    client.force_login(staff_user)
    assert "About checkout" in client.get(reverse("outbox")).text


def test_a_responder_who_commands_nothing_cannot_open_the_outbox(client, outsider, incident):
    _email("About checkout", incident=incident)
    client.force_login(outsider)
    assert client.get(reverse("outbox")).status_code == 403


def test_an_incident_commander_sees_only_their_incidents_messages(
    client, commander, incident, security_incident
):
    other = IncidentFactory(title="[Outage]: Search slow")
    _email("About checkout", incident=incident)
    _email("About search", incident=other)
    _email("About the leak", incident=security_incident)
    _email("No incident")
    client.force_login(commander)
    response = client.get(reverse("outbox"))
    assert response.status_code == 200
    assert "About checkout" in response.text
    for hidden in ("About search", "About the leak", "No incident"):
        assert hidden not in response.text


def test_an_outsider_cannot_see_a_restricted_incidents_message_even_as_commander_elsewhere(
    client, commander, security_incident
):
    message = _email("About the leak", incident=security_incident)
    client.force_login(commander)
    assert "About the leak" not in client.get(reverse("outbox")).text
    assert client.get(reverse("outbox_message", args=[message.pk])).status_code == 404
    delivery = message.deliveries.get()
    Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.DEAD)
    assert client.post(reverse("delivery_resend", args=[delivery.pk])).status_code == 404
    assert Delivery.objects.get(pk=delivery.pk).state == Delivery.State.DEAD


def test_a_former_commander_loses_the_outbox(client, commander, incident):
    from django.utils import timezone

    from roles.models import RoleAssignment

    _email("About checkout", incident=incident)
    RoleAssignment.objects.filter(user=commander).update(ended_at=timezone.now())
    client.force_login(commander)
    assert client.get(reverse("outbox")).status_code == 403


def test_the_message_page_lists_deliveries_and_escapes_receiver_errors(client, admin_user, incident):
    message = _email("About checkout", incident=incident)
    Delivery.objects.filter(message=message).update(
        state=Delivery.State.DEAD, attempts=3, last_error="HTTP 400: <img src=x onerror=alert(1)>"
    )
    client.force_login(admin_user)
    response = client.get(reverse("outbox_message", args=[message.pk]))
    assert response.status_code == 200
    assert "x@example.com" in response.text
    assert "<img src=x" not in response.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in response.text
    assert "Re-send" in response.text


def test_a_dead_delivery_can_be_resent(client, commander, incident, django_capture_on_commit_callbacks):
    from django.core import mail

    message = _email("About checkout", incident=incident)
    delivery = message.deliveries.get()
    Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.DEAD, attempts=8, last_error="550")
    client.force_login(commander)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("delivery_resend", args=[delivery.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert f'id="delivery-{delivery.pk}"' in response.text
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SENT
    assert delivery.attempts == 1
    assert len(mail.outbox) == 1


def test_only_a_dead_delivery_can_be_resent(client, admin_user, incident):
    message = _email("About checkout", incident=incident)
    delivery = message.deliveries.get()
    client.force_login(admin_user)
    response = client.post(reverse("delivery_resend", args=[delivery.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 409
    assert "Only a dead delivery" in response.text


def test_the_outbox_costs_a_bounded_number_of_queries(
    client, admin_user, incident, django_assert_max_num_queries
):
    for i in range(30):
        _email(f"Message {i}", incident=incident)
    client.force_login(admin_user)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("outbox"))
    assert response.status_code == 200


def test_the_outbox_channel_kinds_exist(db):
    assert {c.value for c in Channel.Kind} == {"email", "slack", "webhook", "in_app", "apprise"}


def test_admins_find_the_outbox_in_the_top_bar(client, admin_user, responder):
    client.force_login(admin_user)
    assert f'href="{reverse("outbox")}"' in client.get(reverse("dashboard")).text
    client.force_login(responder)
    assert f'href="{reverse("outbox")}"' not in client.get(reverse("dashboard")).text
