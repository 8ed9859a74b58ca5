"""Every change to reviews and follow-ups goes through here.

- reviews: drafted when due, written, steered, pinned, the meeting, published, amended
- follow_ups: created (from the review, a TODO, a patch or workaround decision, the API), changed
- reminders: the beat's reminders through the comms outbox, each sent once
- common: ReviewError, NotAllowed, business days

entry_follows() is what the incidents services call (incidents/hooks.py, registered in
reviews/apps.py) for every timeline entry they write, in the same transaction.
"""

from incidents.models import Decision, Incident, TimelineEntry
from reviews.services.common import NotAllowed, ReviewError, add_business_days
from reviews.services.follow_ups import (
    follow_up_create,
    follow_up_document,
    follow_up_from_decision,
    follow_up_from_todo,
    follow_up_update,
    follow_ups_set_state,
)
from reviews.services.reviews import (
    default_owner,
    factor_add,
    factor_edit,
    factors_write,
    review_amend,
    review_on_resolved,
    review_pin,
    review_publish,
    review_schedule_meeting,
    review_set_state,
    review_start,
    review_steer,
    review_write,
)

Kind = TimelineEntry.Kind
FOLLOW_UP_DECISIONS = (Decision.Kind.PATCH, Decision.Kind.WORKAROUND)


def entry_follows(entry: TimelineEntry) -> None:
    """What a new timeline entry means for reviews; idempotent (an entry is seen once, but be safe).

    - status → resolved: draft the review of a SEV-1/2, or refresh a published one;
    - a TODO written in the room: a follow-up;
    - a patch or workaround decision recorded: a follow-up to undo or replace it.
    """
    data = entry.data if isinstance(entry.data, dict) else {}
    if entry.kind == Kind.STATUS and data.get("to") == Incident.Status.RESOLVED and "from" in data:
        review_on_resolved(entry)
    elif entry.kind == Kind.TODO and not entry.by_portal:
        follow_up_from_todo(entry)
    elif (
        entry.kind == Kind.DECISION
        and data.get("decision_kind") in FOLLOW_UP_DECISIONS
        and "decision" in data
    ):
        follow_up_from_decision(data["decision"])


__all__ = [
    "NotAllowed",
    "ReviewError",
    "add_business_days",
    "default_owner",
    "entry_follows",
    "factor_add",
    "factor_edit",
    "factors_write",
    "follow_up_create",
    "follow_up_document",
    "follow_up_from_decision",
    "follow_up_from_todo",
    "follow_up_update",
    "follow_ups_set_state",
    "review_amend",
    "review_on_resolved",
    "review_pin",
    "review_publish",
    "review_schedule_meeting",
    "review_set_state",
    "review_start",
    "review_steer",
    "review_write",
]
