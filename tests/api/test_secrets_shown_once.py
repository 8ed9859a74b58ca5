"""Secrets the portal hands out are shown once, to the person who asked, and never again anywhere.

API tokens are stored as a hash; a webhook's signing secret is kept (it signs
every delivery) but no page, admin or API answer shows it after its creation.
"""

import re

from django.urls import reverse

from accounts.models import ApiToken
from integrations.models import OutgoingWebhook


def test_an_api_token_is_on_its_creation_answer_only(client, user, admin_user):
    client.force_login(user)
    created = client.post("/settings/api-tokens/", {"name": "laptop script"}).content.decode()
    token = re.search(r"chk_[A-Za-z0-9_-]{40,}", created).group(0)
    row = ApiToken.objects.get(user=user)

    assert token not in client.get("/settings/api-tokens/").content.decode()
    assert all(token not in str(v) for v in ApiToken.objects.filter(pk=row.pk).values().first().values())
    client.force_login(admin_user)
    for url in (
        reverse("admin:accounts_apitoken_changelist"),
        reverse("admin:accounts_apitoken_change", args=[row.pk]),
    ):
        page = client.get(url).content.decode()
        assert token not in page and row.token_hash not in page


def test_a_webhook_secret_is_in_the_creation_answer_only(admin_api, client, admin_user):
    response = admin_api.post(
        "/api/v1/webhooks/",
        {"name": "chatops", "url": "https://hooks.example.com/coolhead", "events": ["incident.declared"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    secret = response.json()["secret"]
    webhook = OutgoingWebhook.objects.get()
    assert webhook.channel.secret == secret  # kept: it signs every delivery

    assert secret not in admin_api.get("/api/v1/webhooks/").content.decode()
    client.force_login(admin_user)
    for url in (
        reverse("admin:comms_channel_changelist"),
        reverse("admin:comms_channel_change", args=[webhook.channel.pk]),
        reverse("admin:integrations_outgoingwebhook_change", args=[webhook.pk]),
    ):
        page = client.get(url)
        assert page.status_code == 200
        assert secret not in page.content.decode()
