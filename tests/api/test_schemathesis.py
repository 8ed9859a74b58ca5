"""Schemathesis against the live schema (/api/v1/schema/): every answer as the schema says, never a 5xx.

The Django app is called in-process through WSGI, on the test database, with a
token of an administrator (who may reach every operation). Each operation gets
a bounded number of generated requests, positive and negative, with a fixed
seed so that CI is repeatable; path parameters name objects that exist, so that
the calls get past the 404.
"""

from collections.abc import Iterator

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services import api_token_issue
from comms.models import Channel
from integrations.webhooks import webhook_subscribe
from roles.models import Page, RoleAssignment, Service
from statuspage.models import Component
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db

# Generated requests in all, shared by the operations and the two modes (positive and
# negative), at least 3 each: the run stays bounded (~15 s) however the API grows.
EXAMPLES = 800

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def wsgi_app() -> Iterator[WSGIHandler]:
    """Django's WSGI handler on the test database: as Django's test client does, requests must not
    close the connection that holds the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def world(settings) -> dict:
    """An administrator with a token, and one of each object an operation's path can name."""
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    admin = UserFactory(is_staff=True, is_superuser=True)
    _, token = api_token_issue(user=admin, name="schemathesis")
    spare, _ = api_token_issue(user=admin, name="to revoke")
    responder = UserFactory()
    incident = IncidentFactory(declared_by=admin, title="Checkout fails")
    assignment = RoleAssignment.objects.create(incident=incident, role="scribe", user=responder)
    service = Service.objects.create(name="Checkout", primary_owner=responder)
    page = Page.objects.create(incident=incident, target="person", message="help", created_by=admin)
    page.notified.add(admin)
    component = Component.objects.create(name="API", position=1)
    webhook, _ = webhook_subscribe(name="bot", url="http://127.0.0.1:8799/hook", secret="s3cret", by=None)
    assert Channel.objects.filter(pk=webhook.channel_id).exists()
    return {
        "token": token,
        "path": {
            "id": incident.pk,
            "pk": incident.pk,
            "assignment_id": assignment.pk,
            "page_id": page.pk,
            "service_id": service.pk,
            "component_id": component.public_id,
            "webhook_id": webhook.pk,
            "token_id": spare.pk,
        },
    }


def test_every_operation_answers_as_the_schema_says_and_never_with_a_5xx(wsgi_app, world):
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", wsgi_app)
    auth = {"Authorization": f"Bearer {world['token']}"}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40
    examples = max(3, EXAMPLES // (2 * len(operations)))
    for operation in operations:
        names = [p.name for p in operation.path_parameters]
        known = {name: world["path"][name] for name in names if name in world["path"]}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode, path_parameters=known or None))
            def run(case):
                response = case.call(headers=auth)
                case.validate_response(response, checks=CHECKS, headers=auth)

            try:
                run()
            except (Exception, BaseExceptionGroup) as error:  # noqa: BLE001 - reported together below
                failures.append(f"{operation.label} [{mode.value}]: {str(error)[:1500]}")
    assert not failures, "\n\n".join(failures)
