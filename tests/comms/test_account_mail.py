"""Account mail (password reset links) in the outbox: recorded without its secret, delivered with it.

The takeover this guards against (issue 10, problem 1): anyone asks for a reset
of the admin's password; whoever could read the outbox read the link and became
the admin.
"""

import re

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse

from comms.models import Delivery, Message
from comms.services import deliveries_send
from tests.factories import UserFactory

RESET_LINK = re.compile(r"http://testserver(/accounts/password/reset/key/\S+)")


@pytest.fixture
def target(db):
    return UserFactory(email="admin@example.com", is_staff=True, is_superuser=True)


def _ask_for_a_reset(client, email: str = "admin@example.com") -> Message:
    response = client.post("/accounts/password/reset/", {"email": email})
    assert response.status_code == 302
    return Message.objects.get(deliveries__address=email)


def _key_of(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[-1]


def _outbox_readers(db):
    staff = UserFactory(email="stan@example.com", is_staff=True)
    # Staff with every comms model permission but the outbox one: the admin stays shut.
    staff.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="comms").exclude(codename="view_outbox")
    )
    superuser = UserFactory(email="sue@example.com", is_staff=True, is_superuser=True)
    return staff, superuser


def _everything_a_reader_sees(client, message: Message) -> str:
    pages = [
        reverse("outbox"),
        reverse("outbox_message", args=[message.pk]),
        reverse("admin:comms_message_changelist"),
        reverse("admin:comms_message_change", args=[message.pk]),
        reverse("admin:comms_delivery_changelist"),
        *(reverse("admin:comms_delivery_change", args=[d.pk]) for d in message.deliveries.all()),
    ]
    return "\n".join(client.get(page).content.decode() for page in pages)


def test_it_keeps_the_reset_link_out_of_the_outbox_and_the_admin_but_delivers_it(
    client, target, django_capture_on_commit_callbacks
):
    staff, superuser = _outbox_readers(target)

    # Anonymous: ask for the admin's reset. The worker is not run yet (the mail is pending).
    message = _ask_for_a_reset(client)
    delivery = message.deliveries.get()
    assert delivery.state == Delivery.State.PENDING

    def readers_see_no_link() -> None:
        for reader in (staff, superuser):
            client.force_login(reader)
            seen = _everything_a_reader_sees(client, message)
            assert "/accounts/password/reset/key/" not in seen
            client.logout()

    readers_see_no_link()  # while it waits for the worker

    # Staff without the permission cannot open the outbox or the comms admin at all.
    client.force_login(staff)
    assert client.get(reverse("outbox")).status_code == 403
    assert client.get(reverse("outbox_message", args=[message.pk])).status_code == 403
    assert client.get(reverse("admin:comms_message_change", args=[message.pk])).status_code in (302, 403)
    assert client.get(reverse("admin:comms_delivery_changelist")).status_code == 403
    client.logout()

    # The superuser sees what was sent to whom, and a note instead of the body.
    client.force_login(superuser)
    page = client.get(reverse("outbox_message", args=[message.pk])).text
    assert "Reset" in page  # the subject
    assert "admin@example.com" in page
    assert "carries a secret" in page
    client.logout()

    # The worker sends the real e-mail, with a link that works.
    assert deliveries_send(delivery_ids=[delivery.pk])["sent"] == 1
    assert len(mail.outbox) == 1
    link = RESET_LINK.search(mail.outbox[0].body).group(1)

    # Delivered: the secret is gone from the database too, and still shown to nobody.
    message.refresh_from_db()
    assert message.body_erased_at is not None
    assert _key_of(link) not in message.body
    readers_see_no_link()
    client.force_login(superuser)
    assert "erased" in client.get(reverse("outbox_message", args=[message.pk])).text
    client.logout()

    # The person with the link sets a new password and signs in with it.
    response = client.get(link, follow=True)
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else link
    response = client.post(
        form_url, {"password1": "A-new-pass-phrase-77", "password2": "A-new-pass-phrase-77"}
    )
    assert response.status_code == 302
    client.logout()
    client.post("/accounts/login/", {"login": "admin@example.com", "password": "A-new-pass-phrase-77"})
    assert int(client.session["_auth_user_id"]) == target.pk


def test_every_account_mail_is_recorded_as_secret(client, target):
    message = _ask_for_a_reset(client)
    assert message.kind == Message.Kind.ACCOUNT
    assert message.sensitive
