"""The rosters are set up in the Django admin: the pages load and show the override rule."""

import pytest
import time_machine
from django.urls import reverse

from roles.models import OVERRIDE_RULE, Profile, Service, Team
from tests.roles.conftest import at, person


@pytest.fixture
def tuesday_noon():
    """The test runs on Tuesday 2026-03-24 12:00 UTC, its fixtures too: the roster and the
    admin's session are not written at the real clock, months later."""
    with time_machine.travel(at(2026, 3, 24, 12, 0), tick=False):
        yield


@pytest.mark.usefixtures("tuesday_noon")
def test_schedule_admin_shows_who_is_on_call_and_the_override_rule(client, admin, ic_schedule):
    client.force_login(admin)
    response = client.get(reverse("admin:roles_schedule_change", args=[ic_schedule.pk]))
    listing = client.get(reverse("admin:roles_schedule_changelist"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Now: Dev Deputy (backup Sam Scribe)" in html  # names, not usernames
    assert OVERRIDE_RULE in html
    assert listing.status_code == 200 and "Dev Deputy" in listing.content.decode()


def test_the_other_roles_admin_pages_load(client, admin, ic_schedule):
    Profile.objects.create(user=person("Pat Profile"))
    Team.objects.create(name="SEV-1 Stakeholders", stakeholder_for=[1])
    service = Service.objects.create(name="Checkout")
    client.force_login(admin)
    layer = ic_schedule.layers.get()
    for url in [
        reverse("admin:roles_profile_changelist"),
        reverse("admin:roles_profile_add"),
        reverse("admin:roles_team_changelist"),
        reverse("admin:roles_team_add"),
        reverse("admin:roles_service_change", args=[service.pk]),
        reverse("admin:roles_rotationlayer_change", args=[layer.pk]),
        reverse("admin:roles_schedule_add"),
        reverse("admin:roles_page_changelist"),
    ]:
        assert client.get(url).status_code == 200, url


def test_services_get_distinct_integration_keys(db):
    one, two = Service.objects.create(name="One"), Service.objects.create(name="Two")
    assert len(one.integration_key) == 32 and one.integration_key != two.integration_key


def test_a_team_is_made_stakeholder_for_severities_in_the_admin(client, admin):
    client.force_login(admin)
    response = client.post(
        reverse("admin:roles_team_add"),
        {"name": "SEV-2 Stakeholders", "description": "", "stakeholder_for": ["1", "2"]},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Team.objects.get(name="SEV-2 Stakeholders").stakeholder_for == [1, 2]
