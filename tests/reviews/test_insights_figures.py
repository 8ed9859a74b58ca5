"""Every insights figure against a history built by hand, with the expected numbers worked out here.

The clock is frozen at NOW (a Friday) for everything the code reads: the
window, "today" for overdue follow-ups and reviews, and the page itself. Every
timestamp in the history is fixed relative to NOW's calendar, never to the
real clock.
"""

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine

from incidents.models import Incident
from reviews.insights import in_working_hours, insights
from reviews.models import FollowUp, Review
from roles.models import Page, Profile, Service
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 13, 12, 0, tzinfo=UTC)  # Friday; a 30-day window starts Wed Feb 11, 12:00
IN_THE_WINDOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def utc(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def make_incident(number: int, *, severity: int, declared: datetime, status: str = "resolved", **times):
    """One incident row with exactly these timestamps (the services would stamp the real clock)."""
    return Incident.objects.bulk_create(
        [
            Incident(
                number=number,
                title=f"Incident {number}",
                severity=severity,
                status=status,
                declared_at=declared,
                detected_at=times.pop("detected", declared),
                **times,
            )
        ]
    )[0]


def page_at(incident: Incident, when: datetime, *people) -> Page:
    page = Page.objects.create(incident=incident, target="person", created_at=when)
    page.notified.set(people)
    return page


@pytest.fixture
def history():
    admin = UserFactory(is_staff=True, is_superuser=True)
    checkout = Service.objects.create(name="Checkout")
    payments = Service.objects.create(name="Payments")
    search = Service.objects.create(name="Search")

    # A: SEV-1 on Tue Mar 10; acknowledged 10 min, mitigated 30 min, resolved 2 h after detection.
    a = make_incident(
        1,
        severity=1,
        declared=utc(3, 10, 10),
        detected=utc(3, 10, 9, 50),
        acknowledged_at=utc(3, 10, 10),
        mitigated_at=utc(3, 10, 10, 20),
        resolved_at=utc(3, 10, 11, 50),
    )
    # B: SEV-1 just after midnight on Mon Mar 2: 30 min, 1 h, 4 h.
    b = make_incident(
        2,
        severity=1,
        declared=utc(3, 2, 0, 30),
        detected=utc(3, 2),
        acknowledged_at=utc(3, 2, 0, 30),
        mitigated_at=utc(3, 2, 1),
        resolved_at=utc(3, 2, 4),
    )
    # C: SEV-2 on Mon Feb 23, still in triage: never acknowledged, no clock stopped.
    c = make_incident(3, severity=2, declared=utc(2, 23, 8), status="triage")
    # D: SEV-3 on Thu Feb 12: 5 min, 10 min, 2 h.
    d = make_incident(
        4,
        severity=3,
        declared=utc(2, 12, 13),
        detected=utc(2, 12, 12, 55),
        acknowledged_at=utc(2, 12, 13),
        mitigated_at=utc(2, 12, 13, 5),
        resolved_at=utc(2, 12, 14, 55),
    )
    # E: declined (a fluke): in no figure, though it names a service.
    e = make_incident(
        5, severity=4, declared=utc(3, 9, 9), status="declined", acknowledged_at=utc(3, 9, 9, 1)
    )
    # F: SEV-2 before the window.
    f = make_incident(6, severity=2, declared=utc(2, 1, 9), acknowledged_at=utc(2, 1, 9, 1))
    # G: a restricted SEV-2 on Tue Mar 3, acknowledged after 5 min, still investigating.
    make_incident(
        7,
        severity=2,
        declared=utc(3, 3, 15),
        status="investigating",
        is_security=True,
        acknowledged_at=utc(3, 3, 15, 5),
    )
    a.services.set([checkout, payments])
    b.services.set([checkout])
    c.services.set([payments])
    d.services.set([search])
    e.services.set([search])
    f.services.set([search])

    # Pages. Yuki works 9-17 Mon-Fri in Tokyo (UTC+9, no daylight saving).
    yuki = UserFactory(first_name="Yuki", last_name="Tanaka")
    Profile.objects.create(
        user=yuki, timezone="Asia/Tokyo", working_days=[0, 1, 2, 3, 4], work_start=time(9), work_end=time(17)
    )
    page_at(a, utc(3, 9, 0, 30), yuki)  # Mon 09:30 in Tokyo: working
    page_at(a, utc(3, 8, 23, 30), yuki)  # Sunday evening in UTC, Mon 08:30 in Tokyo: not yet
    page_at(b, utc(3, 6, 7, 30), yuki)  # Fri 16:30 in Tokyo: working
    page_at(b, utc(3, 6, 8), yuki)  # Fri 17:00 in Tokyo: the day has ended
    # Nadia works nights in São Paulo (UTC-3): 22:00 to 06:00, shifts starting Mon-Fri.
    nadia = UserFactory(first_name="Nadia", last_name="Night")
    Profile.objects.create(
        user=nadia,
        timezone="America/Sao_Paulo",
        working_days=[0, 1, 2, 3, 4],
        work_start=time(22),
        work_end=time(6),
    )
    page_at(a, utc(3, 7, 6), nadia)  # Sat 03:00 local: Friday's night shift, working
    page_at(a, utc(3, 9, 6), nadia)  # Mon 03:00 local: Sunday's night, not a shift
    page_at(a, utc(3, 10, 1, 30), nadia)  # Mon 22:30 local (Tue in UTC): Monday's shift
    # Pat has no profile: the defaults, 9-17 Mon-Fri in the portal's zone (UTC).
    pat = UserFactory(first_name="Pat", last_name="Default")
    page_at(d, utc(3, 11, 10), pat)  # Wed 10:00: working
    page_at(d, utc(3, 7, 10), pat, yuki)  # Sat: outside for both; one page counts once per person
    page_at(f, utc(2, 1, 10), pat)  # before the window

    # Follow-ups created in the window; today is Fri Mar 13.
    def follow_up(incident, state, due_on=None, closed_at=None, created_at=IN_THE_WINDOW):
        return FollowUp.objects.create(
            incident=incident,
            title=f"{state} due {due_on}",
            state=state,
            due_on=due_on,
            closed_at=closed_at,
            created_at=created_at,
        )

    follow_up(a, "done", date(2026, 3, 5), utc(3, 5, 23, 59))  # closed on its due date: on time
    follow_up(a, "done", date(2026, 3, 5), utc(3, 6, 0, 30))  # the day after: late
    follow_up(b, "done")  # no due date: on time
    follow_up(b, "open", date(2026, 3, 12))  # due yesterday: overdue
    follow_up(b, "in_progress", date(2026, 3, 13))  # due today: not overdue yet
    follow_up(c, "wont_do", date(2026, 3, 1))  # dropped: never overdue
    follow_up(d, "open")  # no due date: never overdue
    follow_up(f, "open", date(2026, 2, 2), created_at=utc(2, 1, 10))  # before the window

    # Reviews created in the window.
    def review(incident, state, due_on, published_at=None, created_at=IN_THE_WINDOW):
        return Review.objects.create(
            incident=incident, state=state, due_on=due_on, published_at=published_at, created_at=created_at
        )

    review(a, "published", date(2026, 3, 12), utc(3, 12, 23, 59))  # the last minute of its due date
    review(b, "published", date(2026, 3, 6), utc(3, 9, 10))  # late
    review(d, "draft", date(2026, 3, 12))  # due yesterday: overdue
    review(c, "in_review", date(2026, 3, 13))  # due today: not yet overdue
    review(f, "published", date(2026, 2, 6), utc(2, 5, 9), created_at=utc(2, 2, 9))  # before the window
    return {"admin": admin}


def by_name(rows: list[dict], key: str) -> dict:
    return {row[key]: row for row in rows}


def test_incidents_per_week_each_monday_of_the_window(history):
    with time_machine.travel(NOW, tick=False):
        data = insights(user=history["admin"], days=30)
    # Declined E and F (before the window) are left out; restricted G counts for an admin.
    assert data.incident_count == 5
    weeks = [(w["start"], w["total"], w["counts"]) for w in data.weeks]
    empty = dict.fromkeys(range(1, 6), 0)
    assert weeks == [
        (date(2026, 2, 9), 1, {**empty, 3: 1}),  # D
        (date(2026, 2, 16), 0, empty),
        (date(2026, 2, 23), 1, {**empty, 2: 1}),  # C
        (date(2026, 3, 2), 2, {**empty, 1: 1, 2: 1}),  # B (Monday 00:30), G
        (date(2026, 3, 9), 1, {**empty, 1: 1}),  # A
    ]


def test_a_week_starts_on_monday_in_the_portals_zone(history, settings):
    # B was declared Mon Mar 2 00:30 UTC: in New York that is still Sunday, the week of Feb 23.
    settings.TIME_ZONE = "America/New_York"
    with time_machine.travel(NOW, tick=False):
        data = insights(user=history["admin"], days=30)
    totals = {w["start"]: w["total"] for w in data.weeks}
    assert totals[date(2026, 2, 23)] == 2  # C and B
    assert totals[date(2026, 3, 2)] == 1  # G alone


def test_clocks_by_severity_and_unacknowledged_apart(history):
    with time_machine.travel(NOW, tick=False):
        data = insights(user=history["admin"], days=30)
    rows = {r["severity"]: r for r in data.by_severity}
    sev1 = rows[1]
    assert sev1["incidents"] == 2 and sev1["not_acknowledged"] == 0
    assert sev1["clocks"]["to_acknowledge"].median == (600 + 1800) / 2
    assert sev1["clocks"]["to_acknowledge"].p90 == 1800
    assert sev1["clocks"]["to_resolve"].median == (7200 + 14400) / 2
    sev2 = rows[2]  # C (never acknowledged) and G (5 min, not resolved)
    assert sev2["incidents"] == 2 and sev2["not_acknowledged"] == 1
    assert sev2["clocks"]["to_acknowledge"].count == 1 and sev2["clocks"]["to_acknowledge"].median == 300
    assert sev2["clocks"]["to_resolve"].count == 0 and sev2["clocks"]["to_resolve"].median is None
    assert rows[4]["incidents"] == 0  # E was declined


def test_clocks_by_service(history):
    with time_machine.travel(NOW, tick=False):
        data = insights(user=history["admin"], days=30)
    # Most incidents first, then by name; Search's declined E and out-of-window F are left out.
    assert [(r["service"], r["incidents"]) for r in data.by_service] == [
        ("Checkout", 2),
        ("Payments", 2),
        ("Search", 1),
    ]
    rows = by_name(data.by_service, "service")
    checkout = rows["Checkout"]["clocks"]  # A and B
    assert (checkout["to_acknowledge"].median, checkout["to_acknowledge"].p90) == (1200, 1800)
    assert (checkout["to_mitigate"].median, checkout["to_mitigate"].p90) == (2700, 3600)
    assert (checkout["to_resolve"].median, checkout["to_resolve"].p90) == (10800, 14400)
    payments = rows["Payments"]["clocks"]  # A, and C which stopped no clock
    assert payments["to_acknowledge"].count == 1 and payments["to_acknowledge"].median == 600
    assert payments["to_resolve"].count == 1 and payments["to_resolve"].median == 7200
    search = rows["Search"]["clocks"]  # D
    assert (search["to_acknowledge"].median, search["to_resolve"].median) == (300, 7200)


def test_pages_per_person_and_outside_working_hours(history):
    with time_machine.travel(NOW, tick=False):
        data = insights(user=history["admin"], days=30)
    assert data.pages_by_person == [
        {"person": "Yuki Tanaka", "pages": 5, "outside_hours": 3},
        {"person": "Nadia Night", "pages": 3, "outside_hours": 1},
        {"person": "Pat Default", "pages": 2, "outside_hours": 1},
    ]


def profile(zone: str, start: int, end: int, days=(0, 1, 2, 3, 4)) -> Profile:
    return Profile(timezone=zone, working_days=list(days), work_start=time(start), work_end=time(end))


@pytest.mark.parametrize(
    ("when", "working"),
    [
        (utc(3, 8, 23, 59), False),  # Mon 08:59 in Tokyo
        (utc(3, 9, 0, 0), True),  # Mon 09:00 in Tokyo: the start is inside
        (utc(3, 13, 7, 59), True),  # Fri 16:59
        (utc(3, 13, 8, 0), False),  # Fri 17:00: the end is outside
        (utc(3, 14, 1, 0), False),  # Sat 10:00
        (utc(3, 15, 15, 0), False),  # Sun 15:00 UTC is Mon 00:00 in Tokyo: before the day starts
    ],
)
def test_working_hours_are_the_persons_own(when, working):
    assert in_working_hours(profile("Asia/Tokyo", 9, 17), when) is working


@pytest.mark.parametrize(
    ("when", "working"),
    [
        (utc(3, 13, 4, 0), True),  # Fri 01:00 in São Paulo: Thursday's shift
        (utc(3, 14, 4, 0), False),  # Sat 01:00: Friday night, no shift on Fridays
        (utc(3, 14, 1, 0), False),  # Fri 22:00 (Sat in UTC): Friday's shift is not worked
        (utc(3, 16, 4, 0), False),  # Mon 01:00: Sunday night
        (utc(3, 16, 9, 0), False),  # Mon 06:00: a shift would have ended
        (utc(3, 16, 15, 0), False),  # Mon 12:00: between shifts
        (utc(3, 17, 1, 0), True),  # Mon 22:00 (Tue in UTC): Monday's shift starts
    ],
)
def test_a_night_shift_belongs_to_the_day_it_started(when, working):
    night = profile("America/Sao_Paulo", 22, 6, days=(0, 1, 2, 3))  # Monday to Thursday nights
    assert in_working_hours(night, when) is working


def test_follow_up_completion_and_overdue(history):
    with time_machine.travel(NOW, tick=False):
        data = insights(user=history["admin"], days=30)
    assert data.follow_ups == {
        "created": 7,
        "open": 2,
        "in_progress": 1,
        "done": 3,
        "wont_do": 1,
        "overdue": 1,
        "done_late": 1,
        "done_on_time": 2,
    }


def test_reviews_published_on_time(history):
    with time_machine.travel(NOW, tick=False):
        data = insights(user=history["admin"], days=30)
    assert data.reviews == {
        "total": 4,
        "published_on_time": 1,
        "published_late": 1,
        "overdue": 1,
        "not_yet_due": 1,
    }


def test_overdue_is_counted_as_of_the_moment_asked_for(history):
    # Asked for a moment a week earlier (Mar 6): the follow-up due Mar 12 and the review due
    # Mar 12 are not overdue yet then, whatever the clock says today.
    with time_machine.travel(NOW, tick=False):
        data = insights(user=history["admin"], days=30, now=NOW - timedelta(days=7))
    assert data.follow_ups["overdue"] == 0
    assert data.reviews["overdue"] == 0


def test_an_outsider_counts_no_restricted_incident(history):
    outsider = UserFactory()
    with time_machine.travel(NOW, tick=False):
        data = insights(user=outsider, days=30)
    assert data.incident_count == 4
    assert next(r for r in data.by_severity if r["severity"] == 2)["incidents"] == 1  # C, not G


def cell(body: str, label: str) -> list[str]:
    """The cells of the table row headed `label`."""
    row = re.search(rf'<tr><th scope="row">{re.escape(label)}</th>(.*?)</tr>', body, re.S)
    assert row, f"no row {label!r}"
    return re.findall(r"<td>(.*?)</td>", row.group(1))


def test_the_insights_page_shows_the_figures(history, client):
    client.force_login(history["admin"])
    with time_machine.travel(NOW, tick=False):
        body = client.get("/insights/?days=30").content.decode()
    assert "5 incidents declared in the last 30 days" in body
    assert cell(body, "Yuki Tanaka") == ["5", "3"]
    assert cell(body, "Nadia Night") == ["3", "1"]
    assert cell(body, "Done late") == ["1"]
    assert cell(body, "Overdue")[0] == "1"  # follow-ups' table comes first
    assert cell(body, "Published on time") == ["1"]
    assert cell(body, "Published late") == ["1"]
    # Checkout: incidents, then MTTA, MTTM, MTTR median and p90 in seconds.
    assert cell(body, "Checkout") == ["2", "1200", "1800", "2700", "3600", "10800", "14400"]
    assert cell(body, "Mar 2") == ["1", "1", "0", "0", "0", "2"]
