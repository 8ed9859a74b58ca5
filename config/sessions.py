"""Sessions read from the cache first, and from the database when the cache is down.

The database is the record of truth; the cache saves the live room's poll a
session query. Two things go wrong with Django's cached_db store when Redis
fails, and during an incident Redis may well be part of the outage:

- it lets a cache error escape on the write-back after a miss, so a Redis
  outage made every signed-in page a 500: here every cache call is tolerant;
- a sign-out while Redis is down or frozen deletes the session from the
  database but not from the cache, and when Redis comes back the old cookie
  is signed in again from the cached copy. Here a cache write or delete that
  fails makes the cached copy stale: it is deleted in the background as soon
  as Redis answers (and, in this process, the session is not read from the
  cache until then), and a cached copy is only
  trusted for SESSION_CACHE_VERIFY_SECONDS after the database last confirmed
  it: a copy that outlived a missed delete (the process that signed out died
  before Redis came back) is caught by that check.
"""

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends import cached_db
from django.core.cache import caches

from core import live

logger = logging.getLogger(__name__)

# A cached session is (VERSION, when the database last confirmed it, the session data).
VERSION = "coolhead-session-1"


class _TolerantCache:
    def __init__(self, cache: Any) -> None:
        self._cache = cache

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self._cache.get(key, default)
        except Exception:  # noqa: BLE001 - any cache failure degrades to the database
            logger.warning("session cache unavailable on get", exc_info=True)
            return default

    def set(self, key: str, value: Any, timeout: Any) -> bool:
        """True when the cache took the write; False when it could not be reached."""
        try:
            self._cache.set(key, value, timeout)
            return True
        except Exception:  # noqa: BLE001
            logger.warning("session cache unavailable on set", exc_info=True)
            return False

    def delete(self, key: str) -> bool:
        """True when the cache took the delete; False when it could not be reached."""
        try:
            self._cache.delete(key)
            return True
        except Exception:  # noqa: BLE001
            logger.warning("session cache unavailable on delete", exc_info=True)
            return False

    def __contains__(self, key: str) -> bool:
        try:
            return key in self._cache
        except Exception:  # noqa: BLE001
            return False


class _PendingDeletes:
    """Cache keys of deleted sessions that the cache could not be told about yet (per process)."""

    # Between tries, at most this long. A try that waited out the socket timeout goes again
    # at once: against a frozen Redis there is then always a delete in its socket buffer,
    # which Redis runs the moment it thaws, before any other process can read the stale copy.
    RETRY_SECONDS = 0.2

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: set[str] = set()
        self._thread: threading.Thread | None = None

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def add(self, key: str) -> None:
        with self._lock:
            self._keys.add(key)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._retry, name="session-cache-deletes", daemon=True)
                self._thread.start()

    def _retry(self) -> None:
        while True:
            with self._lock:
                keys = list(self._keys)
                if not keys:
                    self._thread = None
                    return
            cache = caches[settings.SESSION_CACHE_ALIAS]
            started = time.monotonic()
            try:
                # Straight to Redis, past config/cache.py's pause after a failure:
                # the sooner the stale copies go, the shorter another process may
                # still find one.
                getattr(cache, "delete_many_now", cache.delete_many)(keys)
            except Exception:  # noqa: BLE001 - still down: try again shortly
                time.sleep(max(0.0, self.RETRY_SECONDS - (time.monotonic() - started)))
                continue
            logger.info("session cache: %d delete(s) missed during an outage are done", len(keys))
            with self._lock:
                self._keys.difference_update(keys)


pending_deletes = _PendingDeletes()


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._cache = _TolerantCache(self._cache)

    def load(self) -> dict[str, Any]:
        key = self.cache_key
        cached = None if key in pending_deletes else self._cache.get(key)
        if (
            isinstance(cached, tuple)
            and len(cached) == 3
            and cached[0] == VERSION
            and time.time() - cached[1] < settings.SESSION_CACHE_VERIFY_SECONDS
        ):
            return cached[2]
        # A miss, or a copy too old to trust: the database decides.
        session = self._get_session_from_db()
        if session is None:
            if cached is not None:
                self._cache.delete(key)
            return {}
        data = self.decode(session.session_data)
        self._cache_write(key, data, self.get_expiry_age(expiry=session.expire_date))
        return data

    def save(self, must_create: bool = False) -> None:
        super(cached_db.SessionStore, self).save(must_create)  # the database first
        self._cache_write(self.cache_key, self._session, self.get_expiry_age())

    def _cache_write(self, key: str, data: dict[str, Any], timeout: int) -> None:
        if key in pending_deletes or not self._cache.set(key, (VERSION, time.time(), data), timeout):
            pending_deletes.add(key)  # whatever the cache holds for this key is stale

    def delete(self, session_key: str | None = None) -> None:
        super(cached_db.SessionStore, self).delete(session_key)  # the database first
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        key = self.cache_key_prefix + session_key
        if not self._cache.delete(key):
            pending_deletes.add(key)
        # Its open streams (server-sent events) end now, not at their next event.
        live.publish(live.session_channel(session_key))
