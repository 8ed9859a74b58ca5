"""Where the apps above incidents plug in: registered once at start-up, called by name.

incidents sits below roles, statuspage and integrations (the layers contract in
pyproject.toml), so it cannot import them. What it needs from them is
registered here by their AppConfig.ready(), and the one incidents function that
needs it calls it explicitly:

- role_holders(): who holds which role on these incidents (registered by roles).
  The room, the dashboard and the API's incident answer show them.
- role_serializer(): how the API writes one of those assignments (roles' api).
- entry_written(): what follows a new timeline entry, in the same transaction
  (integrations' outgoing webhooks). incidents.services calls it for every
  entry it writes: the entry is the event.

Nothing here is a Django signal: a reader of incidents.services sees the call.
"""

from collections.abc import Callable, Iterable
from typing import Any

RoleHolders = Callable[[Iterable[int]], dict[int, list[Any]]]
EntryListener = Callable[[Any], None]


def _nobody(incident_ids: Iterable[int]) -> dict[int, list[Any]]:
    return {}


_role_holders: RoleHolders = _nobody
_role_serializer: type | None = None
_entry_listeners: list[EntryListener] = []


def provide_role_holders(reader: RoleHolders, *, serializer: type | None = None) -> None:
    global _role_holders, _role_serializer
    _role_holders = reader
    _role_serializer = serializer


def role_holders(incident_ids: Iterable[int]) -> dict[int, list[Any]]:
    """{incident id: its current role assignments}, in a fixed number of queries."""
    return _role_holders(list(incident_ids))


def role_serializer() -> type | None:
    return _role_serializer


def listen_to_entries(listener: EntryListener) -> None:
    if listener not in _entry_listeners:
        _entry_listeners.append(listener)


def entry_written(entry: Any) -> None:
    for listener in _entry_listeners:
        listener(entry)
