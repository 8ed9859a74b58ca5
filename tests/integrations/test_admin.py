"""The admin pages for API tokens, alert groups, alert settings and outgoing webhooks."""

import pytest

from comms.models import Channel
from integrations.models import AlertSettings, OutgoingWebhook
from roles.models import Service

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/accounts/apitoken/",
        "/admin/integrations/alertgroup/",
        "/admin/integrations/slackstalk/",
        "/admin/integrations/outgoingwebhook/",
        "/admin/integrations/outgoingwebhook/add/",
    ],
)
def test_it_shows_the_integration_pages(admin_client, url):
    assert admin_client.get(url).status_code == 200


def test_tokens_and_alert_groups_cannot_be_added_by_hand(admin_client):
    assert admin_client.get("/admin/accounts/apitoken/add/").status_code == 403
    assert admin_client.get("/admin/integrations/alertgroup/add/").status_code == 403


def _service_form(service: Service, severity_map: str) -> dict:
    return {
        "name": service.name,
        "description": service.description,
        "escalation_minutes": service.escalation_minutes,
        "alert_settings-TOTAL_FORMS": "1",
        "alert_settings-INITIAL_FORMS": "0",
        "alert_settings-MIN_NUM_FORMS": "0",
        "alert_settings-MAX_NUM_FORMS": "1",
        "alert_settings-0-severity_label": "severity",
        "alert_settings-0-severity_map": severity_map,
        "alert_settings-0-default_severity": "3",
        "alert_settings-0-page_on_call": "on",
    }


def test_alert_settings_are_edited_on_the_service(admin_client):
    service = Service.objects.create(name="Checkout")
    url = f"/admin/roles/service/{service.pk}/change/"
    assert "Alert settings" in admin_client.get(url).content.decode()

    response = admin_client.post(url, _service_form(service, '{"Critical": 1, "warning": 4}'))

    assert response.status_code == 302
    assert AlertSettings.objects.get(service=service).severity_map == {"critical": 1, "warning": 4}


def test_an_impossible_severity_map_is_a_form_error(admin_client):
    service = Service.objects.create(name="Checkout")
    url = f"/admin/roles/service/{service.pk}/change/"

    response = admin_client.post(url, _service_form(service, '{"critical": 9}'))

    assert response.status_code == 200
    assert "SEV number from 1 to 5" in response.content.decode()
    assert not AlertSettings.objects.exists()


def test_an_outgoing_webhook_is_subscribed_to_chosen_events(admin_client, admin_user):
    channel = Channel.objects.create(
        name="Ops bus",
        slug="ops-bus",
        kind="webhook",
        url="https://hooks.example.com/coolhead",
        secret="s3cret",
    )
    response = admin_client.post(
        "/admin/integrations/outgoingwebhook/add/",
        {"name": "Ops bus", "channel": channel.pk, "events": ["incident.declared"], "is_active": "on"},
    )
    assert response.status_code == 302
    webhook = OutgoingWebhook.objects.get()
    assert webhook.events == ["incident.declared"]
    assert webhook.created_by == admin_user
