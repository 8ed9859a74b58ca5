import pytest

from customers.services import customer_create
from roles.models import Service
from roles.services import role_assign
from statuspage.models import Component
from tests.comms.smtp_sink import SinkServer
from tests.factories import IncidentFactory, UserFactory, trained_commander


@pytest.fixture
def checkout(db):
    return Service.objects.create(name="Checkout")


@pytest.fixture
def search(db):
    return Service.objects.create(name="Search")


@pytest.fixture
def api_component(db):
    return Component.objects.create(name="Public API")


@pytest.fixture
def acme(checkout):
    return customer_create(
        name="Acme Corp",
        services=[checkout],
        contacts=[
            {
                "name": "Jane Roe",
                "email": "jane@acme.example",
                "alternate_email": "jane.roe@mail.example",
                "phone": "+1 555 0100",
                "preferred_channel": "phone",
            },
            {"name": "Raj Patel", "email": "raj@acme.example", "alternate_email": "raj@backup.example"},
        ],
    )


@pytest.fixture
def globex(checkout, search):
    return customer_create(
        name="Globex",
        services=[checkout, search],
        contacts=[
            {
                "name": "Hank Scorpio",
                "email": "hank@globex.example",
                "alternate_email": "hank@volcano.example",
                "phone": "+1 555 0199",
                "preferred_channel": "alternate_email",
            }
        ],
    )


@pytest.fixture
def initech(search, api_component):
    return customer_create(
        name="Initech",
        services=[search],
        components=[api_component],
        contacts=[{"name": "Peter Gibbons", "email": "peter@initech.example", "phone": "+1 555 0142"}],
    )


@pytest.fixture
def commander(db):
    return trained_commander(UserFactory(first_name="Iris", last_name="Commander", email="ic@example.com"))


@pytest.fixture
def liaison(db):
    return UserFactory(first_name="Cory", last_name="Liaison", email="cory@example.com")


@pytest.fixture
def sev1(commander, liaison, checkout):
    """A SEV-1 on Checkout, with an IC and a customer liaison."""
    incident = IncidentFactory(
        declared_by=commander,
        severity=1,
        title="[Outage]: Checkout fails",
        rollback_considered="No recent release.",
        services=[checkout],
    )
    role_assign(incident=incident, role="incident_commander", user=commander, by=None)
    role_assign(incident=incident, role="customer_liaison", user=liaison, by=commander)
    incident.refresh_from_db()
    return incident


@pytest.fixture
def sev3(commander, liaison, checkout):
    """A minor incident on Checkout: updates go to each contact's preferred address only."""
    incident = IncidentFactory(
        declared_by=commander, severity=3, title="[Slow]: Checkout", services=[checkout]
    )
    role_assign(incident=incident, role="incident_commander", user=commander, by=None)
    role_assign(incident=incident, role="customer_liaison", user=liaison, by=commander)
    incident.refresh_from_db()
    return incident


@pytest.fixture
def smtp(db, settings):
    with SinkServer() as server:
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": server.port, "timeout": 5},
            }
        }
        yield server.sink
