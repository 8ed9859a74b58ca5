"""The timeline: what responders write, edit and strike through, and what the portal records."""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from core.markdown import render_markdown
from incidents import hooks, permissions
from incidents.models import Incident, TimelineEntry, TimelineEntryEdit
from incidents.services.common import IncidentError, bump, incident_lock, join, write_entry

BACKDATE_TOLERANCE_SECONDS = 60


@transaction.atomic
def timeline_add(
    *,
    incident: Incident,
    kind: str,
    body: str,
    author: AbstractBaseUser,
    occurred_at: datetime | None = None,
    backdate_reason: str = "",
    workstream: int | None = None,
) -> TimelineEntry:
    """A responder's entry; `workstream` tags it to one of the incident's open workstreams, so it
    shows in that sub-team's slice of the timeline (data.workstream)."""
    if kind not in TimelineEntry.WRITABLE_KINDS:
        raise IncidentError("That kind of entry is written by the portal, not by hand.")
    body = body.strip()
    if not body:
        raise IncidentError("An entry needs some text.")
    now = timezone.now()
    if occurred_at is not None:
        if occurred_at > now:
            raise IncidentError("An entry cannot happen in the future.")
        if (now - occurred_at).total_seconds() > BACKDATE_TOLERANCE_SECONDS:
            if not backdate_reason.strip():
                raise IncidentError("Say why the entry is back-dated.")
        else:
            occurred_at, backdate_reason = None, ""
    # Render before taking the incident's lock: a long note must not hold up
    # everyone else writing to the room.
    body_html = render_markdown(body)
    incident = incident_lock(incident)
    # Under the lock: a workstream is closed under the same lock, so it is still open as written.
    if workstream is not None and workstream not in {pk for pk, _name in hooks.open_workstreams(incident)}:
        raise IncidentError("That is not an open workstream of this incident.")
    bump(incident)
    entry = write_entry(
        incident=incident,
        kind=kind,
        body=body,
        body_html=body_html,
        author=author,
        occurred_at=occurred_at,
        backdate_reason=backdate_reason.strip(),
        by_portal=False,
        data={"workstream": workstream} if workstream is not None else None,
    )
    join(incident, author)
    return entry


@transaction.atomic
def timeline_edit(*, entry: TimelineEntry, body: str, by: AbstractBaseUser) -> TimelineEntry:
    body_html = render_markdown(body.strip())
    incident = incident_lock(entry.incident)
    entry = TimelineEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.by_portal or entry.kind not in TimelineEntry.WRITABLE_KINDS:
        raise IncidentError("Entries written by the portal cannot be edited.")
    if entry.is_struck:
        raise IncidentError("A struck entry cannot be edited.")
    if not permissions.may_edit_entry(by, entry):
        raise IncidentError("Only the author can edit an entry.")
    body = body.strip()
    if not body:
        raise IncidentError("An entry needs some text; strike it through instead.")
    if body == entry.body:
        return entry
    TimelineEntryEdit.objects.create(entry=entry, previous_body=entry.body, edited_by=by)
    bump(incident)
    entry.body = body
    entry.body_html = body_html
    entry.edited_at = timezone.now()
    entry.revision = incident.revision
    entry.save(update_fields=["body", "body_html", "edited_at", "revision"])
    return entry


@transaction.atomic
def timeline_strike(*, entry: TimelineEntry, by: AbstractBaseUser, reason: str) -> TimelineEntry:
    incident = incident_lock(entry.incident)
    entry = TimelineEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.is_struck:
        raise IncidentError("The entry is struck already.")
    if entry.by_portal or entry.kind not in TimelineEntry.WRITABLE_KINDS:
        raise IncidentError("Entries written by the portal cannot be struck.")
    if not permissions.may_edit_entry(by, entry):
        raise IncidentError("Only the author can strike an entry through.")
    if not reason.strip():
        raise IncidentError("Say why the entry is struck through.")
    bump(incident)
    entry.struck_at = timezone.now()
    entry.struck_by = by
    entry.strike_reason = reason.strip()
    entry.revision = incident.revision
    entry.save(update_fields=["struck_at", "struck_by", "strike_reason", "revision"])
    return entry


@transaction.atomic
def timeline_record(
    *,
    incident: Incident,
    kind: str,
    body: str,
    author: AbstractBaseUser | None,
    data: dict | None = None,
) -> TimelineEntry:
    """A portal-written entry (role, page, public update, alert...) for other apps' services.

    Runs in the caller's transaction, so the change and its entry commit together.
    """
    incident = incident_lock(incident)
    bump(incident)
    entry = write_entry(incident=incident, kind=kind, body=body, author=author, data=data)
    join(incident, author)
    return entry
