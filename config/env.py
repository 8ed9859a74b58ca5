"""Small, strict readers for settings from the environment.

A typo in production configuration should stop the process at start-up with a
message naming the variable, not surface later as odd behaviour.
"""

import os
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"{name} must be set")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.strip().lower() in TRUE:
        return True
    if value.strip().lower() in FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(name: str, default: str, *, schemes: set[str]) -> str:
    value = os.environ.get(name, default)
    if not value:
        return value
    parsed = urlparse(value)
    allowed = ", ".join(sorted(schemes))
    if parsed.scheme not in schemes or value != value.strip():
        raise ImproperlyConfigured(f"{name} must be a URL with scheme {allowed}, not {value!r}")
    # "https://" or "https:example.com" parse with the right scheme and no host;
    # a socket path (unix://) is the one kind of URL that has none.
    try:
        port_ok = parsed.port is None or parsed.port > 0
    except ValueError:
        port_ok = False
    if parsed.scheme != "unix" and not (parsed.hostname and port_ok):
        raise ImproperlyConfigured(f"{name} must be a URL with a host (and a valid port), not {value!r}")
    return value


def env_severity_minutes(name: str, default: dict[int, int]) -> dict[int, int]:
    """A per-severity table such as "1:30,2:30" (SEV-1 and SEV-2 every 30 minutes)."""
    value = os.environ.get(name)
    if value is None:
        return default
    table: dict[int, int] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        severity, _, minutes = item.partition(":")
        try:
            sev, mins = int(severity), int(minutes)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must look like 1:30,2:30 (severity:minutes), not {value!r}"
            ) from None
        if not 1 <= sev <= 5 or mins < 1:
            raise ImproperlyConfigured(f"{name}: severity must be 1-5 and minutes at least 1 in {item!r}")
        table[sev] = mins
    return table


def env_severities(name: str, default: list[int]) -> frozenset[int]:
    """A set of severities such as "1,2" (SEV-1 and SEV-2); empty means none."""
    value = os.environ.get(name)
    if value is None:
        return frozenset(default)
    severities = set()
    for item in filter(None, (part.strip() for part in value.split(","))):
        if not (item.isascii() and item.isdigit()) or not 1 <= int(item) <= 5:
            raise ImproperlyConfigured(f"{name} must list severities 1-5 such as 1,2, not {value!r}")
        severities.add(int(item))
    return frozenset(severities)
