"""90-day uptime bars computed from the kept status history."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from statuspage.models import Component, ComponentStatusChange
from statuspage.selectors import uptime_for

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def change(component, old, new, at):
    ComponentStatusChange.objects.create(component=component, old_status=old, new_status=new, changed_at=at)


def test_a_component_with_no_changes_is_up_every_day_it_existed(page):
    component = Component.objects.create(name="API", created_at=NOW - timedelta(days=200))
    series = uptime_for([component], zone=UTC, now=NOW)[component.pk]
    assert len(series.days) == 90
    assert series.days[-1].day == NOW.date()
    assert {day.worst for day in series.days} == {"operational"}
    assert series.percent == 100.0


def test_days_before_the_component_existed_have_no_data(page):
    component = Component.objects.create(name="New", created_at=NOW - timedelta(days=2, hours=1))
    series = uptime_for([component], zone=UTC, now=NOW)[component.pk]
    assert [day.worst for day in series.days[-4:]] == [None, "operational", "operational", "operational"]
    assert series.days[0].css == "nodata"


def test_outages_colour_their_days_and_count_against_uptime(page):
    component = Component.objects.create(name="API", created_at=NOW - timedelta(days=200))
    ten_days_ago = (NOW - timedelta(days=10)).replace(hour=10)
    # A 2-hour major outage ten days ago, then 4 hours of partial outage five days ago.
    change(component, "operational", "major_outage", ten_days_ago)
    change(component, "major_outage", "operational", ten_days_ago + timedelta(hours=2))
    five_days_ago = (NOW - timedelta(days=5)).replace(hour=1)
    change(component, "operational", "partial_outage", five_days_ago)
    change(component, "partial_outage", "operational", five_days_ago + timedelta(hours=4))
    series = uptime_for([component], zone=UTC, now=NOW)[component.pk]
    by_day = {day.day: day for day in series.days}
    assert by_day[ten_days_ago.date()].worst == "major_outage"
    assert by_day[ten_days_ago.date()].seconds["major_outage"] == 2 * 3600
    assert "major outage 120 min" in by_day[ten_days_ago.date()].label
    assert by_day[five_days_ago.date()].worst == "partial_outage"
    assert by_day[(NOW - timedelta(days=1)).date()].worst == "operational"
    total = (89 * 24 + 12) * 3600  # 89 full days and today until noon
    down = 2 * 3600 + 0.3 * 4 * 3600  # a partial outage counts 30 %
    assert series.percent == round(100 * (1 - down / total), 2)


def test_an_outage_still_going_on_counts_until_now(page):
    component = Component.objects.create(name="API", created_at=NOW - timedelta(days=200))
    change(component, "operational", "major_outage", NOW - timedelta(hours=1))
    component.status = "major_outage"
    component.save()
    series = uptime_for([component], zone=UTC, now=NOW)[component.pk]
    assert series.days[-1].worst == "major_outage"
    assert series.days[-1].seconds["major_outage"] == 3600


def test_days_follow_the_page_time_zone(page):
    component = Component.objects.create(name="API", created_at=NOW - timedelta(days=200))
    # 23:30 UTC on Nov 20 is already Nov 21 in Berlin.
    start = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    change(component, "operational", "major_outage", start)
    change(component, "major_outage", "operational", start + timedelta(minutes=20))
    berlin = uptime_for([component], zone=ZoneInfo("Europe/Berlin"), now=NOW)[component.pk]
    assert {d.day.isoformat() for d in berlin.days if d.worst == "major_outage"} == {"2026-11-21"}
    utc = uptime_for([component], zone=UTC, now=NOW)[component.pk]
    assert {d.day.isoformat() for d in utc.days if d.worst == "major_outage"} == {"2026-11-20"}


def test_the_page_draws_the_bar_in_one_query_for_all_components(
    page, components, django_assert_max_num_queries
):
    # The components fixture is written at the real clock: the changes follow it, and the bars
    # are drawn three days later (from NOW, they would be drawn before the components existed).
    changed = timezone.now()
    for component in Component.objects.all():
        change(component, "operational", "degraded_performance", changed)
    leaves = list(Component.objects.filter(is_group=False))
    with django_assert_max_num_queries(1):
        series = uptime_for(leaves, zone=UTC, now=changed + timedelta(days=3))
    assert {series[leaf.pk].days[-1].worst for leaf in leaves} == {"degraded_performance"}


def test_the_public_page_shows_the_bars(client, components):
    html = client.get("/status/").content.decode()
    assert html.count('class="sp-bar"') == 3  # Website, API, Dashboard; not the group
    assert html.count('class="day day-') == 270
