"""The zone a person's pages show times in: their profile's, with its abbreviation.

Pages render every time in the active zone (Django's `timezone.activate`); the
middleware activates the signed-in person's. Their zone is read from the cache,
filled when they sign in and forgotten when their profile is saved, so that a
page costs no query for it (the room's quiet poll costs exactly one, the user).
The API is left alone: it writes ISO 8601 with an offset, whoever asks.
"""

import zoneinfo
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo

from django.conf import settings
from django.core.cache import cache

from roles.models import Profile

ZONE_CACHE_SECONDS = 24 * 3600
_key = Profile.zone_cache_key


def _valid(name: str | None) -> str:
    try:
        zoneinfo.ZoneInfo(name or "")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return settings.TIME_ZONE
    return name


def zone_name_for(user_id: int) -> str:
    """The person's profile zone (the portal's when they have no profile): cache first."""
    try:
        cached = cache.get(_key(user_id))
    except Exception:  # noqa: BLE001 - a cache outage costs one query
        cached = None
    if cached:
        return _valid(cached)
    name = _valid(Profile.objects.filter(user_id=user_id).values_list("timezone", flat=True).first())
    remember(user_id, name)
    return name


def remember(user_id: int, name: str) -> None:
    try:
        cache.set(_key(user_id), name, timeout=ZONE_CACHE_SECONDS)
    except Exception:  # noqa: BLE001
        pass


def forget(user_id: int) -> None:
    try:
        cache.delete(_key(user_id))
    except Exception:  # noqa: BLE001
        pass


class LazyZone(tzinfo):
    """A zone looked up the first time a time is shown: a page with no time (the quiet poll)
    and the public pages, which choose their zone themselves, never look it up.

    It answers like a ZoneInfo (`key`, `str()`), so that what reads the zone of a datetime
    typed in a form (a calendar invitation) finds its name.
    """

    def __init__(self, resolve: Callable[[], str]) -> None:
        self._resolve = resolve
        self._zoneinfo: zoneinfo.ZoneInfo | None = None

    def _real(self) -> zoneinfo.ZoneInfo:
        if self._zoneinfo is None:
            self._zoneinfo = zoneinfo.ZoneInfo(self._resolve())
        return self._zoneinfo

    @property
    def key(self) -> str:
        return self._real().key

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return self._real().utcoffset(dt)

    def dst(self, dt: datetime | None) -> timedelta | None:
        return self._real().dst(dt)

    def tzname(self, dt: datetime | None) -> str | None:
        return self._real().tzname(dt)

    def fromutc(self, dt: datetime) -> datetime:
        real = self._real()
        return real.fromutc(dt.replace(tzinfo=real)).replace(tzinfo=self)

    def __str__(self) -> str:
        return self._real().key

    def __repr__(self) -> str:
        return f"LazyZone({self._zoneinfo.key if self._zoneinfo else '?'})"


def on_sign_in(sender, request, user, **kwargs) -> None:
    """Signing in reads the zone once, so that the pages after it need no query for it."""
    forget(user.pk)
    zone_name_for(user.pk)
