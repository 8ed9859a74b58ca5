"""Sessions read from the cache first, and from the database when the cache is down.

Django's cached_db store lets a cache error escape on the write-back after a
miss, so a Redis outage would make every signed-in page a 500. During an
incident Redis may well be part of the outage; the portal must stay usable.
"""

import logging
from typing import Any

from django.contrib.sessions.backends import cached_db

logger = logging.getLogger(__name__)


class _TolerantCache:
    def __init__(self, cache: Any) -> None:
        self._cache = cache

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self._cache.get(key, default)
        except Exception:  # noqa: BLE001 - any cache failure degrades to the database
            logger.warning("session cache unavailable on get", exc_info=True)
            return default

    def set(self, *args: Any, **kwargs: Any) -> None:
        try:
            self._cache.set(*args, **kwargs)
        except Exception:  # noqa: BLE001
            logger.warning("session cache unavailable on set", exc_info=True)

    def delete(self, key: str) -> None:
        try:
            self._cache.delete(key)
        except Exception:  # noqa: BLE001
            logger.warning("session cache unavailable on delete", exc_info=True)

    def __contains__(self, key: str) -> bool:
        try:
            return key in self._cache
        except Exception:  # noqa: BLE001
            return False


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._cache = _TolerantCache(self._cache)
