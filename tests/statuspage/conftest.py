import pytest

from roles.models import RoleAssignment
from statuspage import public_cache
from statuspage.models import Component, PageSettings
from tests.factories import IncidentFactory, UserFactory


@pytest.fixture(autouse=True)
def snapshot_dir(settings, tmp_path):
    """Each test writes its own snapshot, and starts with the cache believed healthy."""
    settings.STATUSPAGE_SNAPSHOT_DIR = tmp_path / "statuspage"
    public_cache.cache_reset_backoff()
    yield settings.STATUSPAGE_SNAPSHOT_DIR
    public_cache.cache_reset_backoff()


@pytest.fixture
def page(db):
    return PageSettings.objects.create(pk=1, name="Acme", url="https://status.acme.test", time_zone="Etc/UTC")


@pytest.fixture
def components(page):
    """Website (top level), and a Platform group holding API and Dashboard."""
    website = Component.objects.create(name="Website", position=1, description="The public site")
    platform = Component.objects.create(name="Platform", position=2, is_group=True)
    api = Component.objects.create(name="API", position=1, group=platform)
    dashboard = Component.objects.create(name="Dashboard", position=2, group=platform)
    return {"website": website, "platform": platform, "api": api, "dashboard": dashboard}


@pytest.fixture
def liaison(db):
    return UserFactory(first_name="Cory", last_name="Liaison", email="cory@example.com")


@pytest.fixture
def incident(liaison):
    incident = IncidentFactory(title="[Outage]: payments-eu pool exhausted", severity=1)
    RoleAssignment.objects.create(incident=incident, role="customer_liaison", user=liaison)
    from incidents.models import Participation

    Participation.objects.get_or_create(incident=incident, user=liaison)
    return incident


@pytest.fixture
def security_incident(liaison):
    incident = IncidentFactory(
        title="[Security]: leaked signing key SECRET-TITLE", severity=1, is_security=True
    )
    RoleAssignment.objects.create(incident=incident, role="customer_liaison", user=liaison)
    from incidents.models import Participation

    Participation.objects.get_or_create(incident=incident, user=liaison)
    return incident


@pytest.fixture
def publish(django_capture_on_commit_callbacks):
    """Publish through the service and run what it leaves for after the commit."""
    from statuspage.services import statuspage_publish_update

    def _publish(**kwargs):
        kwargs.setdefault("title", "Checkout errors")
        kwargs.setdefault("status", "investigating")
        kwargs.setdefault("body", "We are looking into failed payments.")
        with django_capture_on_commit_callbacks(execute=True):
            return statuspage_publish_update(**kwargs)

    return _publish


@pytest.fixture
def refreshed(django_capture_on_commit_callbacks):
    def _refresh():
        return public_cache.refresh()

    return _refresh
