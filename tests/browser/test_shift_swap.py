"""A shift swap in two real Chromium browsers: ask for cover on the calendar, the colleague
accepts in one click, and the override shows on the week view."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from roles.models import LayerMember, OnCallLevel, Override, RotationLayer, Schedule, ShiftSwap
from roles.selectors import oncall_at
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.realclock, pytest.mark.django_db(transaction=True)]


def test_a_colleague_covers_my_shift_and_it_shows_on_the_calendar(page_for, live_server):
    dev = UserFactory(first_name="Dev", last_name="Deputy")
    sam = UserFactory(first_name="Sam", last_name="Scribe")
    schedule = Schedule.objects.create(name="Platform on call")
    # Three-day turns from yesterday, midnight UTC: Dev's (the first) runs until the day after
    # tomorrow, so "today" on the calendar is Dev's whenever the test runs.
    layer = RotationLayer.objects.create(
        schedule=schedule,
        timezone="UTC",
        start_date=timezone.now().date() - timedelta(days=1),
        handoff_time=time(0, 0),
        shift_hours=72,
    )
    LayerMember.objects.create(layer=layer, user=dev, position=0)
    LayerMember.objects.create(layer=layer, user=sam, position=1)
    assert oncall_at(schedule, timezone.now()).primary == dev

    week_url = f"{live_server.url}/oncall/schedules/{schedule.pk}/"
    asker = page_for(dev)
    asker.goto(week_url)
    asker.locator("tr.today a.ask").first.click()
    asker.locator("select[name=colleague]").select_option(label="Sam Scribe")
    asker.fill("input[name=note]", "Dentist in the afternoon")
    asker.click("form.stack button[type=submit]")
    asker.locator("h1", has_text="Shift swap #").wait_for()
    assert "Waiting for the colleague" in asker.locator("h1").inner_text()
    swap = ShiftSwap.objects.get()
    assert (swap.requester, swap.colleague, swap.level) == (dev, sam, OnCallLevel.PRIMARY)

    colleague = page_for(sam)
    colleague.goto(f"{live_server.url}/oncall/")
    colleague.locator(".swaps-waiting", has_text="Dev Deputy asks you to cover").wait_for()
    colleague.click(".swaps-waiting a:has-text('Answer')")
    colleague.click("button:has-text('Accept: I cover this')")
    override_cell = colleague.locator("#week tr.today td[data-label=Overrides]")
    override_cell.locator(".slot-override", has_text="Sam Scribe").wait_for()
    assert "covers Dev Deputy" in override_cell.inner_text()
    on_call_now = colleague.locator("#week tr.today td[data-label=Primary]").inner_text()
    assert "Sam Scribe" in on_call_now
    assert Override.objects.get().user == sam
    assert oncall_at(schedule, timezone.now()).primary == sam

    # Dev sees it too, and the history says who covers whom.
    asker.goto(week_url)
    assert "Sam Scribe covers Dev Deputy" in asker.locator(".history").inner_text()
