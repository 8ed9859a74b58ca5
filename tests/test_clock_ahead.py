"""The suite's clock: `--clock-ahead-days=N` (make test-future) moves it N days ahead, ticking."""

import time

import pytest
import time_machine
from django.utils import timezone


def test_the_clock_is_moved_by_the_days_asked_for_and_no_more(request):
    days = request.config.getoption("clock_ahead_days")
    # Outside a test's own travel, only the option moves the clock (no travel left running).
    assert time_machine.escape_hatch.is_travelling() == bool(days)
    real = time_machine.escape_hatch.time.time() if days else time.time()
    assert timezone.now().timestamp() - real == pytest.approx(days * 86400, abs=60)


def test_the_moved_clock_keeps_ticking():
    # Code that waits on the clock (timeouts, retries) must still see time pass.
    before = time.time()
    time.sleep(0.01)
    assert time.time() > before
