"""Follow-ups: work slated for after the incident, with an owner, until done or consciously dropped.

They come from the review, from the room (a TODO entry becomes one), from a patch
or workaround decision (the essay: a patch "leaves us with technical debt that
we will have to resolve once we are back to normal"), or from the API. Every
creation and change is an outgoing webhook event (reviews/hooks.py), so that a
team can mirror follow-ups into its own tracker.
"""

from collections.abc import Sequence
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from incidents.models import Decision, Incident, TimelineEntry
from incidents.permissions import is_admin, takes_part
from reviews import hooks, permissions
from reviews.models import FollowUp, Review
from reviews.services.common import NotAllowed, ReviewError, long_text, one_line, person_name, record_entry

State = FollowUp.State
_url = URLValidator(schemes=["http", "https"])

FIELDS = ("title", "description", "owner", "due_on", "priority", "tracker_url")


def follow_up_document(follow_up: FollowUp) -> dict:
    """The follow-up as webhooks carry it (and scripts mirror it into Jira, Linear or GitHub)."""
    owner = follow_up.owner
    return {
        "id": follow_up.pk,
        "title": follow_up.title,
        "description": follow_up.description,
        "state": follow_up.state,
        "priority": follow_up.priority,
        "due_on": follow_up.due_on.isoformat() if follow_up.due_on else None,
        "owner": None
        if owner is None
        else {
            "id": owner.pk,
            "username": owner.get_username(),
            "email": owner.email,
            "name": person_name(owner),
        },
        "tracker_url": follow_up.tracker_url,
        "wont_do_reason": follow_up.wont_do_reason,
        "source": follow_up.source,
        "incident": follow_up.incident.reference,
        "review_id": follow_up.review_id,
        "url": settings.SITE_URL + follow_up.get_absolute_url(),
        "created_at": follow_up.created_at.isoformat(),
        "updated_at": follow_up.updated_at.isoformat(),
        "closed_at": follow_up.closed_at.isoformat() if follow_up.closed_at else None,
        "revision": follow_up.revision,
    }


def _emit(event: str, follow_up: FollowUp, verb: str) -> None:
    incident = follow_up.incident
    hooks.emit(
        event,
        incident=incident,
        key=f"follow_up:{follow_up.pk}:{follow_up.revision}",
        subject=f"{incident.reference} follow-up {verb}: {follow_up.title}",
        body=f"Follow-up {verb}: {follow_up.title} ({follow_up.get_state_display().lower()})",
        document={"follow_up": follow_up_document(follow_up)},
    )


def _check_by(by: AbstractBaseUser | None, incident: Incident) -> None:
    if by is not None and not permissions.may_change_follow_up(by, incident):
        raise NotAllowed("You may not change the follow-ups of this incident.")


def _check_owner(owner: AbstractBaseUser | None, incident: Incident) -> None:
    if owner is None:
        return
    if not owner.is_active:
        raise ReviewError(f"{person_name(owner)} is not an active user.")
    if incident.is_security and not (is_admin(owner) or takes_part(owner, incident)):
        raise ReviewError(
            f"{person_name(owner)} does not take part in this restricted incident: add them as a "
            "participant first."
        )


def _clean(values: dict) -> dict:
    clean = dict(values)
    if "title" in clean:
        clean["title"] = one_line(clean["title"], 300, "a title")
        if not clean["title"]:
            raise ReviewError("A follow-up needs a title.")
    if "description" in clean:
        clean["description"] = long_text(clean["description"], 10000, "the description")
    if "priority" in clean and clean["priority"] not in FollowUp.Priority.values:
        raise ReviewError("Priority is 1 (urgent) to 4 (low).")
    if "tracker_url" in clean:
        url = (clean["tracker_url"] or "").strip()
        if url:
            if len(url) > 500:
                raise ReviewError("A tracker URL is at most 500 characters.")
            try:
                _url(url)
            except ValidationError:
                raise ReviewError("The tracker URL must be an http(s) URL.") from None
        clean["tracker_url"] = url
    if "due_on" in clean and clean["due_on"] is not None and not isinstance(clean["due_on"], date):
        raise ReviewError("The due date must be a date.")
    return clean


@transaction.atomic
def follow_up_create(
    *,
    incident: Incident,
    by: AbstractBaseUser | None,
    title: str,
    description: str = "",
    owner: AbstractBaseUser | None = None,
    due_on: date | None = None,
    priority: int = FollowUp.Priority.NORMAL,
    tracker_url: str = "",
    source: str = FollowUp.Source.REVIEW,
    source_entry: TimelineEntry | None = None,
    source_decision: Decision | None = None,
    record: bool = True,
) -> FollowUp:
    """A new follow-up; `record` writes the portal's note on the timeline (the room's TODO is its own)."""
    _check_by(by, incident)
    values = _clean(
        {
            "title": title,
            "description": description,
            "priority": priority,
            "tracker_url": tracker_url,
            "due_on": due_on,
        }
    )
    _check_owner(owner, incident)
    now = timezone.now()
    follow_up = FollowUp.objects.create(
        incident=incident,
        review=Review.objects.filter(incident=incident).first(),
        owner=owner,
        source=source,
        source_entry=source_entry,
        source_decision=source_decision,
        created_by=by if by is not None and by.is_authenticated else None,
        created_at=now,
        updated_at=now,
        **values,
    )
    if record:
        owner_text = f", owner {person_name(owner)}" if owner else ""
        due_text = f", due {follow_up.due_on:%Y-%m-%d}" if follow_up.due_on else ""
        record_entry(
            incident=incident,
            body=f"Follow-up added: {follow_up.title}{owner_text}{due_text}",
            by=by,
            data={"follow_up": follow_up.pk, "state": follow_up.state},
        )
    _emit(hooks.FOLLOW_UP_CREATED, follow_up, "added")
    return follow_up


def _apply_state(follow_up: FollowUp, state: str, reason: str) -> bool:
    if state not in State.values:
        raise ReviewError(f"{state!r} is not a follow-up state.")
    reason = one_line(reason, 1000, "the reason")
    if state == follow_up.state and (state != State.WONT_DO or reason == follow_up.wont_do_reason):
        return False
    if state == State.WONT_DO and not reason:
        raise ReviewError(f"Say why “{follow_up.title}” will not be done.")
    follow_up.state = state
    follow_up.wont_do_reason = reason if state == State.WONT_DO else ""
    follow_up.closed_at = (follow_up.closed_at or timezone.now()) if state in FollowUp.CLOSED_STATES else None
    return True


@transaction.atomic
def follow_up_update(
    *,
    follow_up: FollowUp,
    by: AbstractBaseUser | None,
    state: str | None = None,
    wont_do_reason: str = "",
    **changes,
) -> FollowUp:
    """Change what is given (title, description, owner, due_on, priority, tracker_url) and/or the state."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ReviewError(f"Unknown follow-up fields: {', '.join(sorted(unknown))}.")
    # of=self: PostgreSQL locks no row on the nullable side of an outer join (owner may be empty).
    locked = FollowUp.objects.select_for_update(of=("self",)).select_related("incident", "owner")
    follow_up = locked.get(pk=follow_up.pk)
    incident = follow_up.incident
    _check_by(by, incident)
    changes = _clean(changes)
    if "owner" in changes and (changes["owner"] or None) != follow_up.owner:
        _check_owner(changes["owner"], incident)
    changed = [name for name, value in changes.items() if getattr(follow_up, name) != value]
    for name in changed:
        setattr(follow_up, name, changes[name])
    old_state = follow_up.state
    state_changed = state is not None and _apply_state(follow_up, state, wont_do_reason)
    if not changed and not state_changed:
        return follow_up
    follow_up.revision += 1
    follow_up.updated_at = timezone.now()
    follow_up.save()
    if state_changed:
        text = f"Follow-up {State(follow_up.state).label.lower()}: {follow_up.title}"
        if follow_up.state == State.WONT_DO:
            text += f" (because: {follow_up.wont_do_reason})"
        record_entry(
            incident=incident,
            body=text,
            by=by,
            data={"follow_up": follow_up.pk, "state": follow_up.state, "from": old_state},
        )
    _emit(hooks.FOLLOW_UP_UPDATED, follow_up, "updated")
    return follow_up


@transaction.atomic
def follow_ups_set_state(
    *, follow_ups: Sequence[FollowUp], by: AbstractBaseUser | None, state: str, reason: str = ""
) -> list[FollowUp]:
    """The follow-ups page's bulk change: all of them, or none when one is refused."""
    if state == State.WONT_DO and not one_line(reason, 1000, "the reason"):
        raise ReviewError("Say why these follow-ups will not be done.")
    return [
        follow_up_update(follow_up=f, by=by, state=state, wont_do_reason=reason)
        for f in sorted(follow_ups, key=lambda f: f.pk)
    ]


# --- Made by the portal from the room (called from the entry listener, in its transaction) -----------


def follow_up_from_todo(entry: TimelineEntry) -> FollowUp | None:
    """A TODO in the room becomes a follow-up owned by whoever wrote it; once per entry."""
    if FollowUp.objects.filter(source_entry=entry).exists():
        return None
    first, _, rest = entry.body.strip().partition("\n")
    title = " ".join(first.split())
    description = entry.body.strip()
    if len(title) > 300:
        title = title[:299] + "…"
    elif not rest.strip():
        description = ""
    owner = entry.author if entry.author is not None and entry.author.is_active else None
    return follow_up_create(
        incident=entry.incident,
        by=None,
        title=title or "TODO",
        description=description,
        owner=owner,
        source=FollowUp.Source.TODO,
        source_entry=entry,
        record=False,
    )


DECISION_TITLES = {
    Decision.Kind.PATCH: "Replace the patch with a real fix: {summary}",
    Decision.Kind.WORKAROUND: "Undo the workaround once the problem is solved: {summary}",
}


def follow_up_from_decision(decision_id: int) -> FollowUp | None:
    """A patch or a workaround leaves work for later: one follow-up per decision, owned by who decided."""
    decision = Decision.objects.select_related("incident", "decided_by").filter(pk=decision_id).first()
    if decision is None or decision.kind not in DECISION_TITLES:
        return None
    if FollowUp.objects.filter(source_decision=decision).exists():
        return None
    title = DECISION_TITLES[decision.kind].format(summary=decision.summary)
    if len(title) > 300:
        title = title[:299] + "…"
    owner = decision.decided_by if decision.decided_by is not None and decision.decided_by.is_active else None
    return follow_up_create(
        incident=decision.incident,
        by=None,
        title=title,
        description=f"Decided as a {decision.get_kind_display().lower()}: {decision.reason}",
        owner=owner,
        due_on=timezone.localdate() + timedelta(days=settings.REVIEWS_DECISION_FOLLOW_UP_DAYS),
        priority=FollowUp.Priority.HIGH,
        source=FollowUp.Source.DECISION,
        source_decision=decision,
        record=False,
    )
