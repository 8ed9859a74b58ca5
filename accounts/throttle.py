"""Failed sign-ins, counted per account *and* source address.

allauth's default `login_failed` limit counts failures per account alone, so
anyone who knows the Incident Commander's e-mail address could lock them out
in the middle of an incident, from anywhere. Here a failure counts against the
pair (account, address): after ACCOUNTS_SIGN_IN_FAILURE_LIMIT failures within
ACCOUNTS_SIGN_IN_LOCK_SECONDS, that address may not try that account again
until the oldest of those failures is that old. The right password from
another address still works. (allauth's per-address limit over all accounts
stays on: config/settings.py ACCOUNT_RATE_LIMITS.)

Every failure holds one of LIMIT cache slots for LOCK_SECONDS. An attempt
takes a free slot *before* the password is checked (`cache.add` is atomic in
Redis, so parallel guesses cannot overshoot the limit) and gives it back when
the password was right: only failures stay counted.

When the cache raises (Redis down or frozen), signing in must still work: the
slots are then kept in this process's memory, a limit per process rather than
none, and rather than a 500.
"""

import hashlib
import ipaddress
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache

logger = logging.getLogger(__name__)

# Used only while the shared cache fails.
_process_slots = LocMemCache("coolhead-sign-in-throttle", {"OPTIONS": {"MAX_ENTRIES": 10_000}})


@dataclass(frozen=True)
class SignInAttempt:
    """A sign-in in progress: the failure slot it holds until its password is known to be right."""

    slot: str
    store: BaseCache


def source_address(address: str) -> str:
    """The address failures are counted for: an IPv6 client owns its whole /64, so count that."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.IPv6Network((parsed, 64), strict=False).network_address)
    return str(parsed)


def _slots(*, login: str, address: str) -> list[str]:
    pair = f"{login.strip().lower()}\n{source_address(address)}".encode()
    base = "sign-in-failures:" + hashlib.sha256(pair).hexdigest()
    return [f"{base}:{n}" for n in range(settings.ACCOUNTS_SIGN_IN_FAILURE_LIMIT)]


def _take_slot(store: BaseCache, slots: list[str]) -> str | None:
    for slot in slots:
        if store.add(slot, 1, timeout=settings.ACCOUNTS_SIGN_IN_LOCK_SECONDS):
            return slot
    return None


def sign_in_attempt_start(*, login: str, address: str) -> SignInAttempt | None:
    """Count this attempt as a failure until it succeeds; None: this address is locked out of this account."""
    slots = _slots(login=login, address=address)
    try:
        slot = _take_slot(cache, slots)
        store: BaseCache = cache
    except Exception as error:  # any cache backend's error: fail open to the per-process limit
        logger.warning("Sign-in throttle: the cache failed (%r), counting in this process only", error)
        slot = _take_slot(_process_slots, slots)
        store = _process_slots
    return SignInAttempt(slot=slot, store=store) if slot is not None else None


def sign_in_attempt_succeeded(attempt: SignInAttempt) -> None:
    """The password was right: this attempt was no failure."""
    try:
        attempt.store.delete(attempt.slot)
    except Exception as error:  # the slot then expires on its own; the person is signed in regardless
        logger.warning("Sign-in throttle: could not release a slot (%r)", error)
