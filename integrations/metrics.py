"""Counts of alert events by source and outcome, for /metrics (config/metrics.py).

Kept by each web process with prometheus-client's counters: what an alert
endpoint refused is in no table. Under gunicorn with several workers, set
PROMETHEUS_MULTIPROC_DIR (prometheus-client's own variable; the Dockerfile
does) so that every worker's counts are added up; gunicorn.conf.py clears the
directory at start and drops a dead worker's live values.
"""

import functools
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter

ACCEPTED = "accepted"  # a new alert (group and incident), an acknowledge or a resolve
DEDUPLICATED = "deduplicated"  # a trigger that landed on an alert group already open
REJECTED = "rejected"  # a 4xx: no key, an unknown key, a payload that does not parse
FAILED = "failed"  # a 5xx: the database was unavailable; the sender retries

# Not in prometheus-client's default registry: config/metrics.py collects it.
ALERT_EVENTS = Counter(
    "coolhead_alert_events",
    "Alert events received by the alert endpoints, by source and outcome.",
    ["source", "outcome"],
    registry=None,
)

_OUTCOME_ATTRIBUTE = "_coolhead_alert_outcome"


def mark_deduplicated(request: HttpRequest) -> None:
    """The view says the event landed on an open group (the answer alone does not tell)."""
    setattr(request, _OUTCOME_ATTRIBUTE, DEDUPLICATED)


def counted(source: str) -> Callable:
    """Count each call of an alert endpoint by its outcome."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            response = view(request, *args, **kwargs)
            outcome = getattr(request, _OUTCOME_ATTRIBUTE, None)
            if outcome is None:
                status = response.status_code
                outcome = ACCEPTED if status < 400 else REJECTED if status < 500 else FAILED
            ALERT_EVENTS.labels(source, outcome).inc()
            return response

        return wrapper

    return decorate
