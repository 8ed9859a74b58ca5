"""The on-call calendar: the week view, and the .ics feeds that must agree with oncall_at."""

import re
from datetime import date, timedelta

import icalendar
import pytest
import time_machine
from django.urls import reverse

from config.secret_logs import mask_secret_links
from roles import calendars
from roles.models import CalendarFeed, OnCallLevel, OutOfOffice, Override, ScheduleEvent, Service, Team
from roles.selectors import oncall_at, oncall_segments
from roles.services import NotAllowed, calendar_feed_issue, page_send
from tests.factories import IncidentFactory
from tests.roles.conftest import at, person, profile, rotation

SUMMARY = re.compile(r"^(?P<name>.+) on call \((?P<level>primary|backup)\) – ")


@pytest.fixture
def wednesday_before_dst():
    """Wednesday 2026-03-25: the feed's window runs over Berlin's spring-forward (Sunday 29th)."""
    with time_machine.travel(at(2026, 3, 25, 12, 0), tick=False):
        yield


def _events(ics: bytes) -> list[icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(ics)
    return list(calendar.walk("VEVENT"))


def _holder_in_feed(events, when, level: str) -> str | None:
    names = []
    for event in events:
        start, end = event.decoded("dtstart"), event.decoded("dtend")
        match = SUMMARY.match(str(event["summary"]))
        if start <= when < end and match and match["level"] == level:
            names.append(match["name"])
    assert len(names) <= 1, f"two {level} events at {when}: {names}"
    return names[0] if names else None


def _name(user) -> str | None:
    return user.get_full_name() if user else None


def _instants_across_spring_forward():
    """Every 20 minutes from Friday to Tuesday, and the minutes around each hand-off."""
    start = at(2026, 3, 27, 0, 0)
    instants = [start + timedelta(minutes=20 * i) for i in range(5 * 24 * 3)]
    for handoff in (at(2026, 3, 28, 8, 0), at(2026, 3, 29, 7, 0), at(2026, 3, 30, 7, 0)):
        instants += [handoff - timedelta(seconds=1), handoff, handoff + timedelta(seconds=1)]
    return instants


@pytest.mark.usefixtures("wednesday_before_dst")
def test_the_schedule_feed_matches_oncall_at_across_a_dst_change(ic_schedule, otto):
    # An override that starts before the clocks change and ends after.
    Override.objects.create(
        schedule=ic_schedule, user=otto, starts_at=at(2026, 3, 28, 22, 0), ends_at=at(2026, 3, 29, 4, 0)
    )
    events = _events(calendars.schedule_calendar(ic_schedule.pk))
    assert events, "the feed is empty"
    for when in _instants_across_spring_forward():
        expected = oncall_at(ic_schedule, when)
        assert _holder_in_feed(events, when, "primary") == _name(expected.primary), when
        assert _holder_in_feed(events, when, "backup") == _name(expected.backup), when
    # Sam's Saturday shift is 23 real hours: 09:00 CET Saturday to 09:00 CEST Sunday, less Otto's night.
    sam_saturday = [
        e
        for e in events
        if str(e["summary"]).startswith("Sam Scribe on call (primary)")
        and e.decoded("dtstart") == at(2026, 3, 28, 8, 0)
    ]
    assert sam_saturday and sam_saturday[0].decoded("dtend") == at(2026, 3, 28, 22, 0)


@pytest.mark.usefixtures("wednesday_before_dst")
def test_a_persons_feed_lists_their_shifts_on_every_schedule_and_nothing_else(ic_schedule, iris, otto):
    other = ic_schedule.__class__.objects.create(name="Payments")
    rotation(other, [iris, otto], tz="America/New_York", start=date(2026, 3, 2), hours=168)
    events = _events(calendars.person_calendar(iris))
    assert all("On call (" in str(e["summary"]) for e in events)
    for when in _instants_across_spring_forward():
        for schedule in (ic_schedule, other):
            expected = oncall_at(schedule, when)
            for level, holder in (("primary", expected.primary), ("backup", expected.backup)):
                mine = [
                    e
                    for e in events
                    if e.decoded("dtstart") <= when < e.decoded("dtend")
                    and str(e["summary"]) == f"On call ({level}): {schedule.name}"
                ]
                assert bool(mine) == (holder is not None and holder.pk == iris.pk), (when, schedule, level)


@pytest.mark.usefixtures("wednesday_before_dst")
def test_segments_change_only_where_oncall_at_changes(ic_schedule):
    segments = oncall_segments(ic_schedule, at(2026, 3, 27, 0, 0), at(2026, 4, 1, 0, 0))
    for before, after in zip(segments, segments[1:], strict=False):
        assert before.ends_at == after.starts_at
        assert before.oncall != after.oncall
    # The hand-off after the change is 09:00 CEST = 07:00 UTC.
    assert at(2026, 3, 29, 7, 0) in [s.starts_at for s in segments]


# --- The feed's secret address ------------------------------------------------------------------


@pytest.mark.usefixtures("wednesday_before_dst")
def test_it_serves_a_feed_on_its_secret_address_without_a_session(client, ic_schedule, iris):
    feed = calendar_feed_issue(user=iris, by=iris)
    response = client.get(calendars.feed_path(feed))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert "private" in response["Cache-Control"]
    assert _events(response.content)


@pytest.mark.usefixtures("wednesday_before_dst")
def test_a_forged_or_rotated_address_opens_nothing(client, ic_schedule, iris):
    feed = calendar_feed_issue(user=iris, by=iris)
    old = calendars.feed_path(feed)
    token = calendars.feed_token(feed)
    forged = token[:32] + ("0" if token[32] != "0" else "1") + token[33:]
    assert client.get(reverse("roles:calendar_feed", kwargs={"token": forged})).status_code == 404
    assert client.get(reverse("roles:calendar_feed", kwargs={"token": token[:32]})).status_code == 404
    rotated = calendar_feed_issue(user=iris, by=iris)
    assert client.get(old).status_code == 404
    assert client.get(calendars.feed_path(rotated)).status_code == 200


@pytest.mark.usefixtures("wednesday_before_dst")
def test_a_deactivated_persons_feed_closes(client, ic_schedule, iris):
    feed = calendar_feed_issue(user=iris, by=iris)
    iris.is_active = False
    iris.save()
    assert client.get(calendars.feed_path(feed)).status_code == 404


def test_only_the_key_is_stored_not_the_address(db, iris):
    feed = calendar_feed_issue(user=iris, by=iris)
    token = calendars.feed_token(feed)
    assert feed.key == token[:32]
    assert not CalendarFeed.objects.filter(key=token).exists()


def test_feed_addresses_are_masked_in_logs(db, iris):
    feed = calendar_feed_issue(user=iris, by=iris)
    line = f'"GET {calendars.feed_path(feed)} HTTP/1.1" 200'
    assert calendars.feed_token(feed) not in mask_secret_links(line)
    assert "/oncall/feeds/[secret]" in mask_secret_links(line)


def test_a_schedule_address_is_rotated_by_its_people_and_admins_only(ic_schedule, iris, otto, admin):
    calendar_feed_issue(schedule=ic_schedule, by=otto)  # anyone makes the first one
    with pytest.raises(NotAllowed):
        calendar_feed_issue(schedule=ic_schedule, by=otto)
    calendar_feed_issue(schedule=ic_schedule, by=iris)
    calendar_feed_issue(schedule=ic_schedule, by=admin)
    assert (
        ScheduleEvent.objects.filter(schedule=ic_schedule, kind=ScheduleEvent.Kind.FEED_ROTATED).count() == 2
    )


def test_nobody_rotates_someone_elses_personal_address(iris, otto):
    with pytest.raises(NotAllowed):
        calendar_feed_issue(user=iris, by=otto)


def test_the_rotate_view_refuses_an_outsider_with_403(client, ic_schedule, iris, otto):
    calendar_feed_issue(schedule=ic_schedule, by=iris)
    client.force_login(otto)
    response = client.post(reverse("roles:calendar_feed_issue"), {"schedule": ic_schedule.pk})
    assert response.status_code == 403


# --- The pages -------------------------------------------------------------------------------------


@pytest.fixture
def berlin_week(ic_schedule, iris, dev, sam, otto):
    """The week of Monday 2026-03-23 (Berlin), with an override and Sam out of office."""
    profile(iris)
    Override.objects.create(
        schedule=ic_schedule,
        user=otto,
        level=OnCallLevel.PRIMARY,
        starts_at=at(2026, 3, 25, 12, 0),
        ends_at=at(2026, 3, 25, 18, 0),
        note="Dentist",
    )
    OutOfOffice.objects.create(
        profile=profile(sam),
        starts_at=at(2026, 3, 27, 0, 0),
        ends_at=at(2026, 3, 28, 0, 0),
        note="Conference",
    )
    return ic_schedule


@pytest.mark.usefixtures("wednesday_before_dst")
def test_the_week_view_shows_layers_overrides_and_out_of_office(client, berlin_week, iris):
    client.force_login(iris)
    url = reverse("roles:schedule_week", kwargs={"schedule_id": berlin_week.pk})
    response = client.get(url, {"week": "2026-03-25"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Week of Monday 23 March 2026" in html
    assert "Times in Europe/Berlin" in html
    # Wednesday: Sam's turn, Otto's override 13:00–19:00 Berlin on top of it.
    assert "Otto Outsider" in html and "13:00–19:00" in html and "Dentist" in html
    assert "Conference" in html
    # Sam is backup on Friday while out of office: marked.
    assert "out of office: paging skips them" in html


@pytest.mark.usefixtures("wednesday_before_dst")
def test_the_week_view_offers_a_swap_on_my_own_turns_that_are_not_over(client, berlin_week, iris, admin):
    url = reverse("roles:schedule_week", kwargs={"schedule_id": berlin_week.pk})
    client.force_login(iris)
    html = client.get(url).content.decode()
    links = re.findall(r'class="ask" href="([^"]+)"', html)
    assert links
    # Monday's turn (over) has no link: the first one starts with Wednesday's backup turn.
    assert "start=2026-03-23" not in html
    client.force_login(admin)
    assert 'class="ask"' not in client.get(url).content.decode()


@pytest.mark.usefixtures("wednesday_before_dst")
def test_the_week_view_costs_a_bounded_number_of_queries(
    client, berlin_week, iris, django_assert_max_num_queries
):
    for i in range(10):
        Override.objects.create(
            schedule=berlin_week,
            user=person(f"Extra Person{i}"),
            starts_at=at(2026, 3, 26, i, 0),
            ends_at=at(2026, 3, 26, i, 30),
        )
    client.force_login(iris)
    with django_assert_max_num_queries(16):
        response = client.get(reverse("roles:schedule_week", kwargs={"schedule_id": berlin_week.pk}))
    assert response.status_code == 200


@pytest.mark.usefixtures("wednesday_before_dst")
def test_a_bad_week_is_a_400_and_an_unknown_schedule_a_404(client, berlin_week, iris):
    client.force_login(iris)
    url = reverse("roles:schedule_week", kwargs={"schedule_id": berlin_week.pk})
    assert client.get(url, {"week": "not-a-date"}).status_code == 400
    assert client.get(url, {"week": "0001-01-01"}).status_code == 400
    assert client.get(reverse("roles:schedule_week", kwargs={"schedule_id": 999999})).status_code == 404


def test_the_calendar_pages_need_a_sign_in(client, ic_schedule):
    for url in (
        reverse("roles:oncall"),
        reverse("roles:schedule_week", kwargs={"schedule_id": ic_schedule.pk}),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.usefixtures("wednesday_before_dst")
def test_the_oncall_page_shows_my_next_shifts_and_my_calendar_address(client, ic_schedule, sam):
    client.force_login(sam)
    html = client.get(reverse("roles:oncall")).content.decode()
    assert "My next shifts" in html and "Make my calendar address" in html
    assert "Incident Commanders" in html
    response = client.post(reverse("roles:calendar_feed_issue"))
    assert response.status_code == 302
    feed = CalendarFeed.objects.get(user=sam)
    html = client.get(reverse("roles:oncall")).content.decode()
    assert calendars.feed_url(feed) in html


@pytest.mark.usefixtures("wednesday_before_dst")
def test_the_week_is_in_the_viewers_time_zone(client, ic_schedule, iris):
    profile(iris, tz="America/New_York")
    client.force_login(iris)
    html = client.get(reverse("roles:schedule_week", kwargs={"schedule_id": ic_schedule.pk})).content.decode()
    assert "Times in America/New_York" in html
    # The 09:00 Berlin hand-off (08:00 UTC) is 04:00 in New York, already on summer time; from
    # Berlin's change on the 29th (07:00 UTC) it is 03:00.
    assert "04:00–24:00" in html and "00:00–04:00" in html
    assert "03:00–24:00" in html and "00:00–03:00" in html


# --- Services: who answers a page now, and next ------------------------------------------------------


def _row(html: str, name: str) -> dict[str, str]:
    """The services table's row for `name`, cell by cell, as plain text."""
    table = html[html.index('class="incident-table oncall-table services-oncall"') :]
    table = table[: table.index("</table>")]
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = [
            " ".join(re.sub(r"<[^>]+>", " ", c).split()).replace(" :", ":")
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        if cells and cells[0] == name:
            return dict(zip(("service", "now", "next", "owners", "team"), cells, strict=True))
    raise AssertionError(f"no row for {name}")


def _away(user, starts_at, ends_at) -> OutOfOffice:
    return OutOfOffice.objects.create(profile=profile(user), starts_at=starts_at, ends_at=ends_at)


@pytest.fixture
def owned_services(iris, dev, sam, otto):
    """Frozen on Wednesday 2026-03-25 12:00 UTC (13:00 in Berlin, the viewer's zone)."""
    profile(iris)
    checkout = Service.objects.create(name="Checkout", primary_owner=dev, secondary_owner=sam)
    search = Service.objects.create(name="Search", primary_owner=iris, secondary_owner=otto)
    billing = Service.objects.create(name="Billing", primary_owner=otto)
    # Dev is away now, back on Friday 09:00 Berlin.
    _away(dev, at(2026, 3, 24, 0, 0), at(2026, 3, 27, 8, 0))
    # Iris leaves on Saturday 01:00 Berlin; a later trip is beyond the coming week.
    _away(iris, at(2026, 3, 28, 0, 0), at(2026, 3, 30, 0, 0))
    _away(iris, at(2026, 4, 10, 0, 0), at(2026, 4, 12, 0, 0))
    # Otto's period ended yesterday: no change ahead for Billing.
    _away(otto, at(2026, 3, 20, 0, 0), at(2026, 3, 24, 0, 0))
    return checkout, search, billing


@pytest.mark.usefixtures("wednesday_before_dst")
def test_the_services_table_says_who_answers_a_page_now_and_next(client, owned_services, iris):
    client.force_login(iris)
    html = client.get(reverse("roles:oncall")).content.decode()

    checkout = _row(html, "Checkout")
    assert checkout["now"] == "Sam Scribe (secondary owner)"  # Dev, the primary, is out of office
    assert checkout["next"] == "Fri Mar 27, 09:00 CET: Dev Deputy"
    assert checkout["owners"] == "Dev Deputy, then Sam Scribe"

    search = _row(html, "Search")
    assert search["now"] == "Iris Commander"
    assert search["next"] == "Sat Mar 28, 01:00 CET: Otto Outsider"

    billing = _row(html, "Billing")
    assert billing["now"] == "Otto Outsider"
    assert billing["next"] == "No change in the coming week"


@pytest.mark.usefixtures("wednesday_before_dst")
def test_the_table_agrees_with_whom_a_page_reaches_now_and_after_the_next_change(owned_services, iris):
    checkout = owned_services[0]
    incident = IncidentFactory(declared_by=iris, severity=2)
    assert page_send(incident=incident, by=iris, service=checkout).steps[0] == [checkout.secondary_owner_id]
    with time_machine.travel(at(2026, 3, 27, 8, 1), tick=False):
        assert page_send(incident=incident, by=iris, service=checkout).steps[0] == [checkout.primary_owner_id]


@pytest.mark.usefixtures("wednesday_before_dst")
def test_when_both_owners_are_away_the_team_answers(client, owned_services, iris, dev, sam):
    checkout = owned_services[0]
    team = Team.objects.create(name="Shop")
    team.members.add(iris, dev, sam)
    checkout.team = team
    checkout.save()
    _away(sam, at(2026, 3, 25, 0, 0), at(2026, 3, 26, 0, 0))
    client.force_login(iris)
    row = _row(client.get(reverse("roles:oncall")).content.decode(), "Checkout")
    assert row["now"] == "Iris Commander (team)"
    assert row["next"] == "Thu Mar 26, 01:00 CET: Sam Scribe"  # Sam is back before Dev
    assert row["team"] == "Shop"


@pytest.mark.usefixtures("wednesday_before_dst")
def test_the_services_table_costs_the_same_queries_for_many_services(
    client, owned_services, iris, django_assert_max_num_queries
):
    team = Team.objects.create(name="Everyone")
    for i in range(8):
        member = person(f"Member Number{i}")
        team.members.add(member)
        OutOfOffice.objects.create(
            profile=profile(member), starts_at=at(2026, 3, 25, i, 0), ends_at=at(2026, 3, 26, i, 0)
        )
        Service.objects.create(name=f"Extra {i}", primary_owner=member, secondary_owner=iris, team=team)
    client.force_login(iris)
    with django_assert_max_num_queries(20):
        response = client.get(reverse("roles:oncall"))
    assert _row(response.content.decode(), "Extra 3")["now"] == "Iris Commander (secondary owner)"


@pytest.mark.usefixtures("wednesday_before_dst")
def test_the_week_view_draws_each_rotation_layer_with_its_turns(client, berlin_week, iris, dev, otto):
    layer = berlin_week.layers.get()
    layer.name = "Daily"
    layer.save()
    backup = rotation(berlin_week, [otto, dev], level=OnCallLevel.BACKUP, start=date(2026, 3, 16), hours=168)
    backup.name = "Weekly backups"
    backup.save()
    client.force_login(iris)
    url = reverse("roles:schedule_week", kwargs={"schedule_id": berlin_week.pk})
    html = client.get(url, {"week": "2026-03-25"}).content.decode()
    assert '<th scope="col">Daily (primary)</th>' in html
    assert '<th scope="col">Weekly backups (backup)</th>' in html

    def turns(layer_name: str) -> list[str]:
        cells = re.findall(rf'<td data-label="{re.escape(layer_name)}">(.*?)</td>', html, re.S)
        return [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in cells]

    daily, weekly = turns("Daily (primary)"), turns("Weekly backups (backup)")
    assert len(daily) == len(weekly) == 7
    # Daily turns hand off at 09:00 Berlin: Iris from Monday, Dev Tuesday, Sam Wednesday.
    assert daily[0] == "Iris Commander 09:00–24:00"
    assert daily[2] == "Dev Deputy 00:00–09:00 Sam Scribe 09:00–24:00"
    # Weekly backups started Monday 16th: Otto that week, Dev from Monday 23rd 09:00.
    assert weekly[0] == "Otto Outsider 00:00–09:00 Dev Deputy 09:00–24:00"
    assert weekly[3] == "Dev Deputy all day"
