"""Who is on call: rotations on the wall clock across daylight-saving changes, overrides, the page."""

from datetime import date, time, timedelta

import pytest
import time_machine
from django.urls import reverse

from roles.models import OnCallLevel, Override, Schedule
from roles.selectors import oncall_at, oncall_next
from tests.roles.conftest import BERLIN, at, person, rotation


def names(oncall):
    return tuple(p.first_name if p else None for p in oncall)


# A test that reads the clock runs at a pinned instant from its first fixture on: the
# roster, the people and their sessions are not written at the real clock, months later.


@pytest.fixture
def friday_before():
    with time_machine.travel(at(2026, 3, 20, 12, 0), tick=False):
        yield


@pytest.fixture
def saturday_noon():
    with time_machine.travel(at(2026, 3, 28, 12, 0), tick=False):
        yield


def test_it_rotates_daily_at_the_local_handoff_time(ic_schedule):
    # Monday 2026-03-23 09:00 Berlin (08:00 UTC) is Iris's first shift.
    assert names(oncall_at(ic_schedule, at(2026, 3, 23, 7, 59))) == (None, None)
    assert names(oncall_at(ic_schedule, at(2026, 3, 23, 8, 0))) == ("Iris", "Dev")
    assert names(oncall_at(ic_schedule, at(2026, 3, 24, 7, 59))) == ("Iris", "Dev")
    assert names(oncall_at(ic_schedule, at(2026, 3, 24, 8, 0))) == ("Dev", "Sam")
    assert names(oncall_at(ic_schedule, at(2026, 3, 25, 12, 0))) == ("Sam", "Iris")


def test_spring_forward_keeps_the_handoff_at_nine_local(ic_schedule):
    # Clocks go from 02:00 to 03:00 on 2026-03-29 in Berlin: Sam's Saturday shift
    # is 23 hours long and Iris takes over at 09:00 CEST = 07:00 UTC.
    assert names(oncall_at(ic_schedule, at(2026, 3, 28, 8, 0))) == ("Sam", "Iris")
    assert names(oncall_at(ic_schedule, at(2026, 3, 29, 6, 59))) == ("Sam", "Iris")
    assert names(oncall_at(ic_schedule, at(2026, 3, 29, 7, 0))) == ("Iris", "Dev")
    assert names(oncall_at(ic_schedule, at(2026, 3, 29, 9, 0, tz=BERLIN))) == ("Iris", "Dev")
    assert names(oncall_at(ic_schedule, at(2026, 3, 29, 8, 59, tz=BERLIN))) == ("Sam", "Iris")


def test_fall_back_keeps_the_handoff_at_nine_local(ic_schedule):
    # 2026-10-25 03:00 CEST becomes 02:00 CET: the Saturday shift is 25 hours long.
    assert names(oncall_at(ic_schedule, at(2026, 10, 24, 7, 0))) == ("Sam", "Iris")  # 09:00 CEST
    assert names(oncall_at(ic_schedule, at(2026, 10, 24, 6, 59))) == ("Dev", "Sam")
    assert names(oncall_at(ic_schedule, at(2026, 10, 25, 7, 59))) == ("Sam", "Iris")  # 08:59 CET
    assert names(oncall_at(ic_schedule, at(2026, 10, 25, 8, 0))) == ("Iris", "Dev")  # 09:00 CET
    # The repeated hour (02:00-03:00 happens twice) does not disturb the rotation.
    assert names(oncall_at(ic_schedule, at(2026, 10, 25, 0, 30))) == ("Sam", "Iris")
    assert names(oncall_at(ic_schedule, at(2026, 10, 25, 1, 30))) == ("Sam", "Iris")


def test_next_handoff_is_reported_in_real_time_across_the_change(ic_schedule):
    upcoming = oncall_next(ic_schedule, at(2026, 3, 28, 12, 0))
    assert upcoming.at == at(2026, 3, 29, 7, 0)
    assert names(upcoming.oncall) == ("Iris", "Dev")
    upcoming = oncall_next(ic_schedule, at(2026, 10, 24, 12, 0))
    assert upcoming.at == at(2026, 10, 25, 8, 0)


def test_weekly_rotation_in_new_york_follows_its_own_daylight_saving(db):
    a, b = person("Ann Early"), person("Bob Late")
    schedule = Schedule.objects.create(name="Platform")
    # Monday 2026-03-02 09:00 EST; the US changes clocks on 2026-03-08.
    rotation(schedule, [a, b], tz="America/New_York", start=date(2026, 3, 2), hours=168)
    assert names(oncall_at(schedule, at(2026, 3, 9, 13, 59))) == ("Bob", "Ann")  # 09:59 EDT
    assert names(oncall_at(schedule, at(2026, 3, 9, 12, 59))) == ("Ann", "Bob")  # 08:59 EDT


def test_a_backup_layer_gives_the_backup(ic_schedule, otto):
    rotation(ic_schedule, [otto], level=OnCallLevel.BACKUP)
    assert names(oncall_at(ic_schedule, at(2026, 3, 24, 12, 0))) == ("Dev", "Otto")


def test_a_later_layer_takes_over_from_its_start(ic_schedule, otto):
    rotation(ic_schedule, [otto], start=date(2026, 4, 1))
    assert names(oncall_at(ic_schedule, at(2026, 3, 31, 12, 0)))[0] == "Sam"
    assert names(oncall_at(ic_schedule, at(2026, 4, 1, 12, 0)))[0] == "Otto"


@pytest.mark.usefixtures("friday_before")
def test_overlapping_overrides_the_one_created_last_wins(ic_schedule, otto, admin):
    base = at(2026, 3, 24, 10, 0)
    Override.objects.create(
        schedule=ic_schedule, user=otto, starts_at=base, ends_at=base + timedelta(hours=2)
    )
    with time_machine.travel(at(2026, 3, 21, 12, 0), tick=False):
        Override.objects.create(
            schedule=ic_schedule,
            user=admin,
            starts_at=base + timedelta(hours=1),
            ends_at=base + timedelta(hours=3),
        )
    assert names(oncall_at(ic_schedule, base + timedelta(minutes=30)))[0] == "Otto"
    assert names(oncall_at(ic_schedule, base + timedelta(minutes=90)))[0] == "Ada"
    assert names(oncall_at(ic_schedule, base + timedelta(minutes=150)))[0] == "Ada"
    assert names(oncall_at(ic_schedule, base + timedelta(minutes=210)))[0] == "Dev"
    # The rotation still backs up the person covering.
    assert names(oncall_at(ic_schedule, base + timedelta(minutes=30)))[1] == "Sam"


def test_a_backup_override_replaces_the_backup_only(ic_schedule, otto):
    Override.objects.create(
        schedule=ic_schedule,
        user=otto,
        level=OnCallLevel.BACKUP,
        starts_at=at(2026, 3, 24, 0, 0),
        ends_at=at(2026, 3, 25, 0, 0),
    )
    assert names(oncall_at(ic_schedule, at(2026, 3, 24, 12, 0))) == ("Dev", "Otto")


def test_an_empty_schedule_has_nobody(db):
    schedule = Schedule.objects.create(name="Empty")
    assert names(oncall_at(schedule, at(2026, 3, 24, 12, 0))) == (None, None)
    assert oncall_next(schedule, at(2026, 3, 24, 12, 0)) is None


def test_a_one_person_rotation_has_no_backup(db):
    solo = person("Solo Person")
    schedule = Schedule.objects.create(name="Solo")
    rotation(schedule, [solo], handoff=time(0, 0))
    assert names(oncall_at(schedule, at(2026, 3, 24, 12, 0))) == ("Solo", None)


@pytest.mark.usefixtures("saturday_noon")
def test_the_oncall_page_shows_now_and_next_for_every_schedule(
    client, ic_schedule, otto, django_assert_max_num_queries
):
    Schedule.objects.create(name="Nobody here")
    client.force_login(otto)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("roles:oncall"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Incident Commanders" in html and "Nobody here" in html
    assert "Sam Scribe" in html  # primary now
    assert "Iris Commander" in html  # backup now, and next
    assert "Sun Mar 29, 07:00" in html  # the next hand-off, 09:00 CEST


def test_the_oncall_page_needs_a_login(client):
    response = client.get(reverse("roles:oncall"))
    assert response.status_code == 302
