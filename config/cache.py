"""Django's Redis cache, made to fail fast while Redis is down or frozen.

Redis stopped refuses connections at once, but Redis frozen (SIGSTOP, a VM
paused, a network that drops packets) accepts them and never answers: every
cache call waits for the socket timeout. A request makes several cache calls
(the session, the room's revision, the status page's documents...), so even a
short timeout adds up, and a thread that waits serves nobody else.

So the first call that fails marks Redis as down *for this process* for
REDIS_DOWN_RETRY_SECONDS: until then, every call raises CacheUnavailable at
once without touching the network, and the callers degrade as they already do
when the cache raises (the database, the status page's snapshot). After that
time one call tries Redis again. A request therefore pays at most one timeout.

A few callers cannot degrade on their own: allauth's rate limiter lets a cache
error escape, which made signing in a 500 while Redis was down. Keys under the
prefixes in LOCAL_WHEN_DOWN_KEY_PREFIXES are served from this process's memory
while Redis is down: the limits keep counting, per process rather than for the
whole site, and signing in works.
"""

import logging
import threading
import time
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# What "Redis did not answer" looks like; a ResponseError (a bad command) is a bug, not an outage.
OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)


class CacheUnavailable(RedisConnectionError):
    """Redis failed recently; the call was not attempted."""


class _Outage:
    """Per process and Redis location: until when Redis counts as down."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down_until: dict[str, float] = {}

    def is_down(self, location: str) -> bool:
        return time.monotonic() < self._down_until.get(location, 0.0)

    def mark_down(self, location: str, seconds: float) -> None:
        with self._lock:
            was_up = not self.is_down(location)
            self._down_until[location] = time.monotonic() + seconds
        if was_up:
            logger.warning("cache: Redis did not answer; not trying again for %ss", seconds)

    def mark_up(self, location: str) -> None:
        if location in self._down_until:
            with self._lock:
                self._down_until.pop(location, None)


outage = _Outage()


class ResilientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS", {}))
        self.retry_after = float(options.pop("DOWN_RETRY_SECONDS", 5))
        self.local_prefixes = tuple(options.pop("LOCAL_WHEN_DOWN_KEY_PREFIXES", ()))
        super().__init__(server, {**params, "OPTIONS": options})
        self._location = server if isinstance(server, str) else ",".join(server)
        self._local = LocMemCache(f"coolhead-when-redis-is-down:{self._location}", {"TIMEOUT": None})

    def _call(self, method: str, key: Any, *args: Any, **kwargs: Any) -> Any:
        local = isinstance(key, str) and key.startswith(self.local_prefixes) if self.local_prefixes else False
        if outage.is_down(self._location):
            if local:
                return getattr(self._local, method)(key, *args, **kwargs)
            raise CacheUnavailable(f"Redis at {self._location} is down; retrying in a few seconds")
        try:
            result = getattr(super(), method)(key, *args, **kwargs)
        except OUTAGE_ERRORS as exc:
            outage.mark_down(self._location, self.retry_after)
            if local:
                return getattr(self._local, method)(key, *args, **kwargs)
            raise CacheUnavailable(str(exc)) from exc
        outage.mark_up(self._location)
        return result

    def add(self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._call("add", key, value, timeout=timeout, version=version)

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        return self._call("get", key, default, version=version)

    def set(self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        return self._call("set", key, value, timeout=timeout, version=version)

    def touch(self, key: str, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._call("touch", key, timeout=timeout, version=version)

    def delete(self, key: str, version: int | None = None) -> bool:
        return self._call("delete", key, version=version)

    def has_key(self, key: str, version: int | None = None) -> bool:
        return self._call("has_key", key, version=version)

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> int:
        return self._call("incr", key, delta, version=version)

    # Several keys at once: never kept locally (the callers of these degrade on an error).
    def get_many(self, keys: Any, version: int | None = None) -> dict[str, Any]:
        return self._call("get_many", keys, version=version)

    def set_many(self, data: dict[str, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None):
        return self._call("set_many", data, timeout=timeout, version=version)

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        return self._call("delete_many", keys, version=version)

    def probe(self) -> None:
        """One real round trip, even while Redis counts as down (readyz); an answer ends the pause."""
        try:
            super().get("coolhead:probe")
        except OUTAGE_ERRORS as exc:
            outage.mark_down(self._location, self.retry_after)
            raise CacheUnavailable(str(exc)) from exc
        outage.mark_up(self._location)

    def delete_many_now(self, keys: Any, version: int | None = None) -> None:
        """delete_many() even while Redis counts as down: for a background retry, not a request."""
        try:
            super().delete_many(keys, version=version)
        except OUTAGE_ERRORS as exc:
            outage.mark_down(self._location, self.retry_after)
            raise CacheUnavailable(str(exc)) from exc
        outage.mark_up(self._location)

    def clear(self) -> bool:
        if outage.is_down(self._location):
            raise CacheUnavailable(f"Redis at {self._location} is down; retrying in a few seconds")
        try:
            return super().clear()
        except OUTAGE_ERRORS as exc:
            outage.mark_down(self._location, self.retry_after)
            raise CacheUnavailable(str(exc)) from exc
