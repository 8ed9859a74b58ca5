"""Where the apps above incidents plug in: registered once at start-up, called by name.

incidents sits below roles, statuspage and integrations (the layers contract in
pyproject.toml), so it cannot import them. What it needs from them is
registered here by their AppConfig.ready(), and the one incidents function that
needs it calls it explicitly:

- role_holders(): who holds which role on these incidents (registered by roles).
  The room, the dashboard and the API's incident answer show them.
- role_serializer(): how the API writes one of those assignments (roles' api).
- decides(): whether a person may take the incident's decisions (status, severity,
  resolve and decline, the repair decision): the Incident Commander's and the
  deputy's while an IC is assigned (registered by roles; roles/permissions.py).
- became_major(): what happens once per rise to SEV-1/2 (roles pages the on-call
  IC and tells the stakeholders), called by the service that raised it.
- open_workstreams(): the incident's open workstreams (sub-teams) as (id, name),
  registered by roles: an entry written in the room may be tagged to one, and the
  room's timeline shows one workstream's slice (entries with data.workstream).
- status_page_link(): the public status page's page of the incident, once something
  is published there (registered by statuspage); part of where to join.
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


def _anyone(user: Any, incident: Any, holders: Any = None) -> bool:
    return True


def _nothing(incident: Any, by: Any) -> None:
    return None


def _no_workstreams(incident: Any) -> list[tuple[int, str]]:
    return []


def _no_link(incident: Any) -> str:
    return ""


_role_holders: RoleHolders = _nobody
_decides: Callable[..., bool] = _anyone
_became_major: Callable[[Any, Any], None] = _nothing
_role_serializer: type | None = None
_status_page_link: Callable[[Any], str] = _no_link
_open_workstreams: Callable[[Any], list[tuple[int, str]]] = _no_workstreams
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


def provide_decision_rule(rule: Callable[..., bool]) -> None:
    global _decides
    _decides = rule


def decides(user: Any, incident: Any, holders: list | None = None) -> bool:
    """The roles app's rule; `holders` are the incident's current role holders when the caller has them."""
    return _decides(user, incident, holders)


def on_becoming_major(reaction: Callable[[Any, Any], None]) -> None:
    global _became_major
    _became_major = reaction


def became_major(incident: Any, by: Any) -> None:
    _became_major(incident, by)


def provide_workstreams(reader: Callable[[Any], list[tuple[int, str]]]) -> None:
    global _open_workstreams
    _open_workstreams = reader


def open_workstreams(incident: Any) -> list[tuple[int, str]]:
    """(id, name) of the incident's open workstreams; none until roles registers the reader."""
    return _open_workstreams(incident)


def provide_status_page_link(reader: Callable[[Any], str]) -> None:
    global _status_page_link
    _status_page_link = reader


def status_page_link(incident: Any) -> str:
    """Where customers follow the incident, "" until something about it is published."""
    return _status_page_link(incident)
