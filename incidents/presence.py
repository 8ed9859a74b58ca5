"""Who has an incident's room open right now, from the room's own requests (poll or stream).

A task given to someone in the room reaches them in the bell alone; to someone
elsewhere by e-mail too. The cache keeps it for a few poll intervals; a cache
outage only means "not known to be here" (they get the e-mail).
"""

from django.core.cache import cache

PRESENCE_SECONDS = 30


def _key(incident_id: int, user_id: int) -> str:
    return f"room-presence:{incident_id}:{user_id}"


def mark_present(incident_id: int, user_id: int) -> None:
    try:
        cache.set(_key(incident_id, user_id), 1, timeout=PRESENCE_SECONDS)
    except Exception:  # noqa: BLE001 - presence is a nicety, never a failure
        pass


def is_present(incident_id: int, user_id: int) -> bool:
    try:
        return bool(cache.get(_key(incident_id, user_id)))
    except Exception:  # noqa: BLE001
        return False
