"""Restricted (security) and unpublished incidents never appear on any public surface."""

import pytest
from django.core import mail

from incidents import services as incident_services
from statuspage import public_cache
from statuspage.models import Subscriber
from tests.statuspage.test_public_pages import PUBLIC_URLS

SECRET_WORDS = ["SECRET-TITLE", "leaked signing key", "payments-eu", "INC-"]


@pytest.fixture
def internal_incidents(components, liaison, incident, security_incident):
    """Both incidents busy inside: timeline entries, status changes. Nothing published."""
    for target in (incident, security_incident):
        incident_services.timeline_add(
            incident=target, kind="finding", body="payments-eu internal finding", author=liaison
        )
        incident_services.incident_change_status(incident=target, status="investigating", by=liaison)
    from django.utils import timezone

    Subscriber.objects.create(kind="email", email="fan@example.com", confirmed_at=timezone.now())
    public_cache.refresh()
    return incident, security_incident


def all_public_text(client) -> str:
    texts = []
    for url in [*PUBLIC_URLS, "/status/subscribe/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        texts.append(response.content.decode())
    return "\n".join(texts)


def test_nothing_internal_reaches_any_public_surface(client, internal_incidents):
    text = all_public_text(client)
    for word in SECRET_WORDS:
        assert word not in text, word
    assert client.get("/status/api/v2/incidents.json").json()["incidents"] == []
    assert mail.outbox == []


def test_a_published_incident_shows_only_what_was_published(client, internal_incidents, liaison, publish):
    incident, security_incident = internal_incidents
    publish(incident=incident, by=liaison, title="Payments are slow", body="We are looking into it.")
    text = all_public_text(client)
    assert "Payments are slow" in text
    for word in SECRET_WORDS:
        assert word not in text, word


def test_a_security_incident_appears_only_once_published_on_purpose(
    client, internal_incidents, liaison, publish
):
    _, security_incident = internal_incidents
    assert "Login problems" not in all_public_text(client)
    update = publish(
        incident=security_incident,
        by=liaison,
        title="Login problems",
        body="Some customers must sign in again.",
        confirm_restricted=True,
    )
    text = all_public_text(client)
    assert "Login problems" in text
    assert client.get(f"/status/incidents/{update.public_incident.public_id}/").status_code == 200
    for word in SECRET_WORDS:
        assert word not in text, word
    sent = "\n".join(m.subject + m.body for m in mail.outbox)
    assert "Login problems" in sent and "SECRET-TITLE" not in sent
