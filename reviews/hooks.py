"""Where the apps above reviews hear of its events: registered at start-up, called by name.

reviews sits below integrations (pyproject.toml's layers), so it cannot import the
outgoing webhooks. integrations registers a listener here (integrations/apps.py),
and every reviews service that makes an event calls emit() in its own
transaction: a rollback sends nothing, a commit sends each event once (the
listener keys its outbox messages by `key`).

Events: review.published, follow_up.created, follow_up.updated.
"""

from collections.abc import Callable
from typing import Any

REVIEW_PUBLISHED = "review.published"
FOLLOW_UP_CREATED = "follow_up.created"
FOLLOW_UP_UPDATED = "follow_up.updated"
EVENTS = (REVIEW_PUBLISHED, FOLLOW_UP_CREATED, FOLLOW_UP_UPDATED)

EventListener = Callable[..., Any]
_listeners: list[EventListener] = []


def listen(listener: EventListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def emit(event: str, *, incident: Any, key: str, subject: str, body: str, document: dict) -> None:
    """Tell the listeners: `document` is the JSON the event carries, `key` is unique per occurrence."""
    for listener in _listeners:
        listener(event=event, incident=incident, key=key, subject=subject, body=body, document=document)
