"""A page's acknowledge link is the paged person's: the outbox shows it masked, the page itself carries it.

The Incident Commander and admins read a page's message in the outbox; the link
in it would let them open the paged person's acknowledge page.
"""

import re

from django.core import mail
from django.urls import reverse

from comms.models import SECRET_PLACEHOLDER, Message
from roles.models import IncidentRole, Page
from roles.services import page_send, role_assign

ACK_PATH = re.compile(r"http://[^\s]+(/[^\s]*pages/ack/[^\s/]+/)")


def test_the_ack_link_is_masked_for_the_ic_and_admins_and_works_for_the_paged_person(
    client, incident, iris, dev, admin, django_capture_on_commit_callbacks
):
    role_assign(incident=incident, role=IncidentRole.INCIDENT_COMMANDER, user=iris, by=iris)
    with django_capture_on_commit_callbacks(execute=True):
        page = page_send(incident=incident, by=iris, person=dev, message="The EU database is on fire")
    message = Message.objects.filter(kind="page", deliveries__user=dev, incident=incident).distinct().get()
    delivered = next(m for m in mail.outbox if m.to == [dev.email])
    ack_path = ACK_PATH.search(delivered.body).group(1)
    token = ack_path.rstrip("/").rsplit("/", 1)[-1]

    for reader in (iris, admin):  # the IC of the incident, and an admin
        client.force_login(reader)
        pages = [reverse("outbox"), reverse("outbox_message", args=[message.pk])]
        if reader.is_superuser:
            pages.append(reverse("admin:comms_message_change", args=[message.pk]))
        for url in pages:
            response = client.get(url)
            assert response.status_code == 200
            assert token not in response.content.decode()
        text = client.get(reverse("outbox_message", args=[message.pk])).text
        assert "The EU database is on fire" in text  # what was said is there
        assert f"Acknowledge: {SECRET_PLACEHOLDER}" in text
        client.logout()

    # The paged person's copy (e-mail, and the bell) carries the link, and it works for them.
    assert token in message.body
    client.force_login(dev)
    assert token in client.get(reverse("notifications")).text
    response = client.post(ack_path)
    assert response.status_code == 302
    page.refresh_from_db()
    assert page.status == Page.Status.ACKNOWLEDGED and page.acknowledged_by == dev


def test_someone_else_holding_the_ack_link_cannot_acknowledge_with_it(
    client, incident, iris, dev, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        page = page_send(incident=incident, by=iris, person=dev)
    delivered = next(m for m in mail.outbox if m.to == [dev.email])
    client.force_login(iris)
    response = client.post(ACK_PATH.search(delivered.body).group(1))
    assert response.status_code == 403
    page.refresh_from_db()
    assert page.acknowledged_by is None
