import pytest

from comms.models import Channel
from incidents.models import Participation
from roles.models import RoleAssignment
from tests.factories import IncidentFactory, UserFactory


@pytest.fixture
def responder(db):
    return UserFactory(first_name="Rita", last_name="Responder", email="rita@example.com")


@pytest.fixture
def incident(responder):
    return IncidentFactory(declared_by=responder, title="[Outage]: Checkout fails", severity=2)


@pytest.fixture
def security_incident(db):
    declarer = UserFactory(first_name="Sec", last_name="Lead")
    return IncidentFactory(
        declared_by=declarer, title="[Security]: Leaked token", severity=2, is_security=True
    )


@pytest.fixture
def commander(incident):
    """The current incident commander of `incident` (not staff)."""
    user = UserFactory(first_name="Ivy", last_name="Commander")
    # Written directly rather than through roles.services, which another
    # engineer is changing: the outbox only reads these two rows.
    RoleAssignment.objects.create(incident=incident, role="incident_commander", user=user)
    Participation.objects.create(incident=incident, user=user)
    return user


@pytest.fixture
def local_receivers_allowed(settings):
    """Test receivers listen on 127.0.0.1: allowed the one way an internal host is.

    Only where a test asks for it; the default (no allowed host) stays strict.
    """
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def signed_channel(db):
    return Channel.objects.create(
        name="Ops webhook",
        slug="ops-webhook",
        kind=Channel.Kind.WEBHOOK,
        url="http://127.0.0.1:9/hook",
        secret="s3cret-shared-with-the-receiver",
        timeout_seconds=2,
    )


@pytest.fixture
def slack_channel(db):
    return Channel.objects.create(
        name="#incidents", slug="slack-incidents", kind=Channel.Kind.SLACK, url="http://127.0.0.1:9/slack"
    )
