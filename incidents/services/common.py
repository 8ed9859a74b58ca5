"""What the incidents services share: their error, the incident's lock and revision, writing an entry."""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from core import live
from core.errors import DomainError, NotAllowed
from core.markdown import render_markdown
from incidents import hooks, permissions
from incidents.models import Incident, Participation, TimelineEntry, Verification


class IncidentError(DomainError):
    """A change the rules do not allow; the message is meant for a person."""


class ProposeInstead(IncidentError, NotAllowed):
    """A decision that is the Incident Commander's: the person may propose it (a 403 in the API)."""


def require_decider(incident: Incident, by: AbstractBaseUser | None, *, proposable: bool = True) -> None:
    """Status, severity, resolve and decline, the repair decision (incidents/permissions.py).

    `by=None` is the portal itself (alerts, the demo), which may. `proposable` says whether
    a proposal can ask for it, so the refusal does not point at what cannot help.
    """
    if by is not None and not permissions.may_decide(by, incident):
        then = "propose it instead." if proposable else "ask them in the room."
        raise ProposeInstead(
            f"The Incident Commander or the deputy decides this while an IC is assigned: {then}"
        )


def room_revision_key(incident_id: int) -> str:
    return f"incident-room:{incident_id}"


def publish_revision(incident: Incident) -> None:
    # The live room reads (revision, restricted) from the cache so that a poll
    # that finds nothing new costs no database query. A lost write here only
    # costs the pollers one read of the incident row.
    key = room_revision_key(incident.pk)
    value = (incident.revision, incident.is_security)

    def publish() -> None:
        try:
            cache.set(key, value, timeout=24 * 3600)
        except Exception:  # noqa: BLE001 - the cache is an optimisation, never a failure
            pass
        # The open rooms, dashboards and lists hear of it at once (server-sent events,
        # core/live.py), whichever process made the change: web, worker or beat.
        live.publish(f"room:{incident.pk}", {"rev": value[0], "restricted": value[1]})
        live.publish("incidents", {"incident": incident.pk, "rev": value[0]})

    transaction.on_commit(publish)


def incident_lock(incident: Incident) -> Incident:
    return Incident.objects.select_for_update().get(pk=incident.pk)


def bump(incident: Incident, *fields: str) -> None:
    incident.revision += 1
    incident.save(update_fields=[*fields, "revision", "updated_at"])
    publish_revision(incident)


def write_entry(
    *,
    incident: Incident,
    kind: str,
    body: str,
    author: AbstractBaseUser | None,
    occurred_at: datetime | None = None,
    backdate_reason: str = "",
    data: dict | None = None,
    body_html: str | None = None,
    by_portal: bool = True,
) -> TimelineEntry:
    """Write one timeline entry; the caller holds the incident's lock and has bumped its revision."""
    now = timezone.now()
    entry = TimelineEntry.objects.create(
        incident=incident,
        kind=kind,
        body=body,
        body_html=render_markdown(body) if body_html is None else body_html,
        author=author,
        occurred_at=occurred_at or now,
        recorded_at=now,
        backdate_reason=backdate_reason,
        data=data or {},
        by_portal=by_portal,
        revision=incident.revision,
        revision_created=incident.revision,
    )
    if kind == TimelineEntry.Kind.VERIFICATION and "verification" not in entry.data:
        # A verification written as plain text (the API's timeline, older clients)
        # is a step that passed, checked when the entry says; striking it takes it back.
        Verification.objects.create(
            incident=incident, checked=body, checked_by=author, checked_at=entry.occurred_at, entry=entry
        )
    # The entry is the event: what reacts to it (outgoing webhooks) writes its
    # own rows in this same transaction, so a rollback sends nothing.
    hooks.entry_written(entry)
    return entry


def join(incident: Incident, user: AbstractBaseUser | None) -> None:
    if user is not None and user.is_authenticated:
        Participation.objects.get_or_create(incident=incident, user=user)
