"""The demo data `make run` loads: people in every role, an open SEV-1 and a resolved SEV-3."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from config.demo import DEMO_PASSWORD, DEMO_PEOPLE, demo_loaded, load_demo
from incidents.models import Incident
from roles.models import IncidentRole, RoleAssignment, Service
from tests.incidents.pages import text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    load_demo()


def test_there_is_a_person_for_every_role(demo):
    User = get_user_model()
    roles = {role for _email, _first, _last, role in DEMO_PEOPLE if role}
    # The responder roles of the seeds' incident process.
    assert roles >= {
        IncidentRole.INCIDENT_COMMANDER,
        IncidentRole.DEPUTY,
        IncidentRole.SCRIBE,
        IncidentRole.SUBJECT_MATTER_EXPERT,
        IncidentRole.CUSTOMER_LIAISON,
        IncidentRole.INTERNAL_LIAISON,
    }
    for email, first, last, _role in DEMO_PEOPLE:
        person = User.objects.get(email=email)
        assert (person.first_name, person.last_name) == (first, last)
        assert person.check_password(DEMO_PASSWORD)
    admin = User.objects.get(email="admin@example.com")
    assert admin.is_staff and admin.is_superuser
    assert not User.objects.get(email="ic@example.com").is_staff
    assert Service.objects.filter(name="Checkout").exists()


def test_there_is_an_open_sev1_with_roles_and_a_lively_timeline(demo):
    fire = Incident.objects.get(severity=1)
    assert fire.is_open
    assert fire.status == Incident.Status.IDENTIFIED
    assert fire.deploy_freeze
    assert fire.rollback_considered
    holders = {
        assignment.role: assignment.user.email
        for assignment in RoleAssignment.objects.filter(incident=fire, ended_at__isnull=True).select_related(
            "user"
        )
    }
    assert holders == {role.value: email for email, _f, _l, role in DEMO_PEOPLE if role}
    kinds = set(fire.timeline.values_list("kind", flat=True))
    assert {
        "finding",
        "hypothesis",
        "note",
        "decision",
        "change",
        "action",
        "todo",
        "role",
        "status",
    } <= kinds
    assert fire.timeline.count() >= 15
    assert fire.timeline.values("author").distinct().count() >= 4
    # Detected before it was declared, as in real life.
    assert fire.detected_at <= fire.declared_at


def test_there_is_a_resolved_sev3(demo):
    old = Incident.objects.get(severity=3)
    assert old.status == Incident.Status.RESOLVED
    assert old.resolved_at is not None and old.resolved_at > old.declared_at
    assert not old.deploy_freeze


def test_the_demo_room_and_dashboard_render(client, demo):
    client.force_login(get_user_model().objects.get(email="ic@example.com"))
    fire = Incident.objects.get(severity=1)
    room = client.get(fire.get_absolute_url())
    assert room.status_code == 200
    assert "Checkout fails for EU customers" in text_of(room)
    assert "Deploy freeze" in text_of(room)
    dashboard = text_of(client.get("/"))
    assert "Checkout fails for EU customers" in dashboard
    assert "Search results stale" not in dashboard  # resolved


def test_a_demo_person_logs_in_with_the_demo_password(client, demo):
    response = client.post("/accounts/login/", {"login": "scribe@example.com", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert "_auth_user_id" in client.session


def test_the_command_loads_once(db):
    assert not demo_loaded()
    first = StringIO()
    call_command("load_demo", stdout=first)
    counts = (get_user_model().objects.count(), Incident.objects.count(), RoleAssignment.objects.count())

    second = StringIO()
    call_command("load_demo", stdout=second)

    assert demo_loaded()
    assert "Demo data loaded." in first.getvalue()
    assert "Demo data is loaded already." in second.getvalue()
    assert (
        get_user_model().objects.count(),
        Incident.objects.count(),
        RoleAssignment.objects.count(),
    ) == counts
    assert counts[1] == 2
    # Both runs print the logins, so `make run` always shows them.
    for out in (first.getvalue(), second.getvalue()):
        assert f"password for all: {DEMO_PASSWORD}" in out
        assert "ic@example.com" in out
