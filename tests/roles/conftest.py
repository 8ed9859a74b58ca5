from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from roles.models import LayerMember, OnCallLevel, Profile, RotationLayer, Schedule
from tests.factories import IncidentFactory, UserFactory, trained_commander

UTC = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")


def person(name: str, **kwargs):
    first, _, last = name.partition(" ")
    return UserFactory(username=name.lower().replace(" ", "."), first_name=first, last_name=last, **kwargs)


def rotation(
    schedule,
    people,
    *,
    level=OnCallLevel.PRIMARY,
    tz="Europe/Berlin",
    start=date(2026, 3, 23),
    handoff=time(9, 0),
    hours=24,
):
    layer = RotationLayer.objects.create(
        schedule=schedule, level=level, timezone=tz, start_date=start, handoff_time=handoff, shift_hours=hours
    )
    for i, user in enumerate(people):
        LayerMember.objects.create(layer=layer, user=user, position=i)
    return layer


def profile(user, *, tz="Europe/Berlin", days=(0, 1, 2, 3, 4), start=time(9), end=time(17), **kwargs):
    profile, _ = Profile.objects.update_or_create(
        user=user,
        defaults={"timezone": tz, "working_days": list(days), "work_start": start, "work_end": end, **kwargs},
    )
    return profile


def at(*args, tz=UTC) -> datetime:
    return datetime(*args, tzinfo=tz)


@pytest.fixture
def iris(db):
    # A trained incident commander: she may take command herself.
    return trained_commander(person("Iris Commander"))


@pytest.fixture
def dev(db):
    return person("Dev Deputy")


@pytest.fixture
def sam(db):
    return person("Sam Scribe")


@pytest.fixture
def otto(db):
    """Active, not staff, no part in anything."""
    return person("Otto Outsider")


@pytest.fixture
def admin(db):
    return person("Ada Admin", is_staff=True, is_superuser=True)


@pytest.fixture
def incident(iris):
    return IncidentFactory(declared_by=iris, title="[Outage]: Checkout fails for EU customers", severity=1)


@pytest.fixture
def security_incident(iris):
    return IncidentFactory(declared_by=iris, title="[Security]: Leaked token", severity=2, is_security=True)


@pytest.fixture
def ic_schedule(db, iris, dev, sam):
    """Incident Commanders: Iris, Dev, Sam in daily turns from Monday 2026-03-23 09:00 Berlin."""
    schedule = Schedule.objects.create(
        name="Incident Commanders", role="incident_commander", escalation_minutes=5
    )
    rotation(schedule, [iris, dev, sam])
    return schedule
