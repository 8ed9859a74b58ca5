"""The status page's minute (on beat): maintenance moves on, lost fan-outs go out, the page stays fresh."""

from statuspage import public_cache
from statuspage.services.maintenance import maintenance_tick
from statuspage.services.subscribers import fan_outs_resend_lost

# The periodic refresh re-renders the page at least this often, so that the uptime
# bars roll over at midnight and "upcoming" maintenance moves on without a publish.
REFRESH_EVERY_SECONDS = 300


def statuspage_tick() -> int:
    """Start and complete maintenance on time, re-send lost fan-outs, keep the public page fresh.

    Returns how many maintenances moved.
    """
    moved = maintenance_tick()
    fan_outs_resend_lost()
    age = public_cache.seconds_since_refresh()
    # A moved maintenance refreshed the page on commit already.
    if age is None or age >= REFRESH_EVERY_SECONDS:
        public_cache.refresh()
    return len(moved)
