"""What starts and stops each clock: one definition, used by reviews and insights alike.

Every clock starts when the problem was detected (`detected_at`: an alert's
start, or what the declarer entered; the declaration time when nothing earlier
is known), because the customer's wait starts there, not when we noticed.

- time to acknowledge: until `acknowledged_at`, the first move out of triage
  (somebody took it on). An incident never acknowledged has no value: it is
  left out of medians and counted apart as "not acknowledged".
- time to mitigate: until `mitigated_at`, the first move to monitoring or
  resolved. A reopen clears it (the problem is back), so a reopened incident
  counts until its mitigation after the reopen.
- time to resolve: until `resolved_at`, for resolved incidents only. A reopen
  clears it too: a reopened incident's time to resolve runs until it is
  finally resolved, the time it spent "resolved" in between included.

Declined incidents (a monitoring fluke) are no incidents: they are in no figure.
A negative span (a back-dated detection entered after the fact) counts as zero.
Median: the middle value (the mean of the two middle values for an even count).
p90: nearest rank, the smallest value that at least 90% of values do not exceed.
"""

import math
from datetime import datetime, timedelta
from statistics import median as _median

from incidents.models import Incident

CLOCKS = ("to_acknowledge", "to_mitigate", "to_resolve")
CLOCK_LABELS = {
    "to_acknowledge": "Time to acknowledge",
    "to_mitigate": "Time to mitigate",
    "to_resolve": "Time to resolve",
}
CLOCK_SHORT = {"to_acknowledge": "MTTA", "to_mitigate": "MTTM", "to_resolve": "MTTR"}


def span(start: datetime | None, stop: datetime | None) -> float | None:
    """Seconds from start to stop; None when either is unknown; never negative."""
    if start is None or stop is None:
        return None
    return max(0.0, (stop - start).total_seconds())


def clocks(
    *,
    status: str,
    detected_at: datetime,
    acknowledged_at: datetime | None,
    mitigated_at: datetime | None,
    resolved_at: datetime | None,
) -> dict[str, float | None]:
    """The three clocks of one incident, in seconds (None: not stopped, or not counted)."""
    if status == Incident.Status.DECLINED:
        return dict.fromkeys(CLOCKS)
    return {
        "to_acknowledge": span(detected_at, acknowledged_at),
        "to_mitigate": span(detected_at, mitigated_at),
        "to_resolve": span(detected_at, resolved_at) if status == Incident.Status.RESOLVED else None,
    }


def incident_clocks(incident: Incident) -> dict[str, float | None]:
    return clocks(
        status=incident.status,
        detected_at=incident.detected_at,
        acknowledged_at=incident.acknowledged_at,
        mitigated_at=incident.mitigated_at,
        resolved_at=incident.resolved_at,
    )


def median(values: list[float]) -> float | None:
    return float(_median(values)) if values else None


def p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)])


def human(seconds: float | None) -> str:
    """A duration as people say it: 45s, 12m, 3h 05m, 2d 4h."""
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def as_timedelta(seconds: float | None) -> timedelta | None:
    return None if seconds is None else timedelta(seconds=seconds)
