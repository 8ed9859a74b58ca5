"""The post-incident review: drafted when it is due, written together, reviewed, published, amended.

A SEV-1 or SEV-2 (REVIEWS_AUTO_SEVERITIES) gets its review when it is resolved,
through the entry listener (reviews/apps.py): one per incident, owned by the
Incident Commander, due REVIEWS_DUE_BUSINESS_DAYS business days later. Any other
incident gets one on demand. The record part is read live from the incident
(reviews.record) until the review is published, then frozen; resolving again
after a reopen refreshes the frozen record and says so in an amendment.
"""

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from comms.services import message_send, recipients_for_user, recipients_split
from core.markdown import render_markdown
from incidents.models import Incident, Participation, TimelineEntry
from incidents.selectors import who_can_see
from incidents.services.common import bump, write_entry
from reviews import hooks, permissions
from reviews.invitations import meeting_calendar, meeting_summary
from reviews.models import ContributingFactor, FollowUp, Review, ReviewAmendment, ReviewEdit, ReviewPin
from reviews.record import review_record
from reviews.services.common import (
    NotAllowed,
    ReviewError,
    default_due_on,
    long_text,
    one_line,
    person_name,
    record_entry,
)
from roles.models import IncidentRole, RoleAssignment
from roles.services.common import message_about
from statuspage.services import statuspage_publish_postmortem

State = Review.State


def default_owner(incident: Incident) -> AbstractBaseUser | None:
    """The Incident Commander (the last one if the role changed hands), else the on-call responder."""
    for role in (IncidentRole.INCIDENT_COMMANDER, IncidentRole.ON_CALL):
        assignment = (
            RoleAssignment.objects.filter(incident=incident, role=role, user__is_active=True)
            .select_related("user")
            .order_by("ended_at", "-started_at")  # current (NULL) first on PostgreSQL; sorted below anyway
        )
        rows = sorted(assignment, key=lambda a: (a.ended_at is not None, -a.started_at.timestamp()))
        if rows:
            return rows[0].user
    return None


def _new_review(incident: Incident, *, by: AbstractBaseUser | None, owner, due_on: date) -> Review:
    review = Review.objects.create(
        incident=incident,
        owner=owner,
        due_on=due_on,
        created_by=by if by is not None and by.is_authenticated else None,
    )
    FollowUp.objects.filter(incident=incident, review__isnull=True).update(review=review)
    return review


def _created_text(review: Review) -> str:
    return (
        f"Post-incident review drafted: owner {person_name(review.owner)}, due {review.due_on:%a %b %-d}. "
        "Blameless: it asks what in the system let this happen, not who."
    )


@transaction.atomic
def review_start(
    *, incident: Incident, by: AbstractBaseUser, owner: AbstractBaseUser | None = None
) -> Review:
    """A review on demand, once the incident is over; owned as given, else by the IC, else by `by`."""
    if not permissions.may_start_review(by, incident):
        raise NotAllowed("You may not start a review of this incident.")
    Incident.objects.select_for_update().filter(pk=incident.pk).first()
    incident.refresh_from_db()
    if Review.objects.filter(incident=incident).exists():
        raise ReviewError(f"{incident.reference} has a review already.")
    if incident.status != Incident.Status.RESOLVED:
        raise ReviewError("A review starts once the incident is resolved.")
    if owner is not None and not (owner.is_active and permissions.may_see(owner, incident)):
        raise ReviewError(f"{person_name(owner)} cannot see this incident, so cannot own its review.")
    owner = owner or default_owner(incident) or by
    review = _new_review(
        incident, by=by, owner=owner, due_on=default_due_on(incident, today=timezone.localdate())
    )
    record_entry(incident=incident, body=_created_text(review), by=by, data={"review": review.pk})
    return review


def review_on_resolved(entry: TimelineEntry) -> Review | None:
    """The incident was just resolved (called from the entry listener, under the incident's lock).

    Drafts the review of a SEV-1/2 (REVIEWS_AUTO_SEVERITIES) once; a published review
    of an incident resolved again after a reopen gets its record refreshed.
    """
    incident = entry.incident
    review = Review.objects.select_for_update().filter(incident=incident).first()
    if review is not None:
        if review.is_published:
            review.published_record = review_record(incident, review)
            review.revision += 1
            review.save(update_fields=["published_record", "revision", "updated_at"])
            ReviewAmendment.objects.create(
                review=review,
                body="The incident was reopened and resolved again: the record above is updated.",
                body_html=render_markdown(
                    "The incident was reopened and resolved again: the record above is updated."
                ),
                author=None,
            )
        return review
    if incident.severity not in settings.REVIEWS_AUTO_SEVERITIES:
        return None
    owner = default_owner(incident) or (entry.author if entry.author is not None else incident.declared_by)
    review = _new_review(
        incident, by=None, owner=owner, due_on=default_due_on(incident, today=timezone.localdate())
    )
    # The status service holds this very incident object: bump it in place, so that
    # what it writes next does not carry a revision older than this entry's.
    bump(incident)
    write_entry(
        incident=incident,
        kind=TimelineEntry.Kind.NOTE,
        body=_created_text(review),
        author=None,
        data={"review": review.pk},
    )
    return review


def _locked(review: Review) -> Review:
    # of=self: PostgreSQL locks no row on the nullable side of an outer join (owner may be empty).
    locked = Review.objects.select_for_update(of=("self",)).select_related("incident", "owner")
    return locked.get(pk=review.pk)


def _writable(review: Review, by: AbstractBaseUser) -> None:
    if not permissions.may_write(by, review):
        raise NotAllowed("Only the review's owner, the incident's participants and admins write the review.")
    if review.is_published:
        raise ReviewError("The review is published: add an amendment instead.")


def _steerable(review: Review, by: AbstractBaseUser) -> None:
    if not permissions.may_steer(by, review):
        raise NotAllowed("Only the review's owner (or an admin) may do that.")


@transaction.atomic
def review_write(*, review: Review, by: AbstractBaseUser, sections: Mapping[str, str]) -> Review:
    """Save the written sections given; each changed one keeps its previous text."""
    review = _locked(review)
    _writable(review, by)
    unknown = set(sections) - set(Review.SECTIONS)
    if unknown:
        raise ReviewError(f"Unknown sections: {', '.join(sorted(unknown))}.")
    changed = []
    for name, text in sections.items():
        text = long_text(text, Review.SECTION_MAX, Review.SECTIONS[name].split(":")[0].lower())
        if text != getattr(review, name):
            if getattr(review, name):
                ReviewEdit.objects.create(
                    review=review, section=name, previous_text=getattr(review, name), edited_by=by
                )
            setattr(review, name, text)
            changed.append(name)
    if changed:
        # Rendered once here, as a timeline entry is when written, not at every reading.
        review.sections_html = {
            **(review.sections_html if isinstance(review.sections_html, dict) else {}),
            **{name: render_markdown(getattr(review, name)) for name in changed},
        }
        review.revision += 1
        review.save(update_fields=[*changed, "sections_html", "revision", "updated_at"])
    return review


@transaction.atomic
def review_steer(
    *, review: Review, by: AbstractBaseUser, owner: AbstractBaseUser | None = None, due_on: date | None = None
) -> Review:
    """Hand the review to another owner, or move its due date."""
    review = _locked(review)
    _steerable(review, by)
    fields = []
    if owner is not None and owner != review.owner:
        if not owner.is_active or not permissions.may_see(owner, review.incident):
            raise ReviewError(f"{person_name(owner)} cannot see this incident, so cannot own its review.")
        review.owner = owner
        fields.append("owner")
    if due_on is not None and due_on != review.due_on:
        review.due_on = due_on
        fields.append("due_on")
    if fields:
        review.revision += 1
        review.save(update_fields=[*fields, "revision", "updated_at"])
    return review


@transaction.atomic
def factor_add(
    *, review: Review, by: AbstractBaseUser, text: str, parent: ContributingFactor | None = None
) -> ContributingFactor:
    """A contributing factor, or (with `parent`) the answer to "why?" about one."""
    review = _locked(review)
    _writable(review, by)
    text = long_text(text, 2000, "a contributing factor")
    if not text:
        raise ReviewError("Say what contributed.")
    if parent is not None and parent.review_id != review.pk:
        raise ReviewError("That factor belongs to another review.")
    depth = 0
    ancestor = parent
    while ancestor is not None:
        depth += 1
        ancestor = ancestor.parent
    if depth >= 7:
        raise ReviewError("Seven whys deep is enough: add it as a factor of its own.")
    factor = ContributingFactor.objects.create(review=review, parent=parent, text=text, created_by=by)
    review.revision += 1
    review.save(update_fields=["revision", "updated_at"])
    return factor


@transaction.atomic
def factor_edit(*, factor: ContributingFactor, by: AbstractBaseUser, text: str) -> ContributingFactor:
    review = _locked(factor.review)
    _writable(review, by)
    factor = ContributingFactor.objects.select_for_update().get(pk=factor.pk)
    text = long_text(text, 2000, "a contributing factor")
    if not text:
        raise ReviewError("A factor needs some text.")
    if text == factor.text:
        return factor
    ReviewEdit.objects.create(
        review=review, section=f"factor:{factor.pk}", previous_text=factor.text, edited_by=by
    )
    factor.text = text
    factor.edited_at = timezone.now()
    factor.save(update_fields=["text", "edited_at"])
    return factor


@transaction.atomic
def factors_write(*, review: Review, by: AbstractBaseUser, changes: Iterable[Mapping]) -> Review:
    """Several factors added or edited at once (the API), each as the page does it, all or none.

    A change is {factor, parent, text}: with `factor`, factor_edit() of it; without,
    factor_add() under `parent` (None for a factor of its own).
    """
    for change in changes:
        factor, parent, text = change.get("factor"), change.get("parent"), change.get("text", "")
        for known in (factor, parent):
            if known is not None and known.review_id != review.pk:
                raise ReviewError("That factor belongs to another review.")
        if factor is not None:
            factor_edit(factor=factor, by=by, text=text)
        else:
            factor_add(review=review, by=by, text=text, parent=parent)
    return review


@transaction.atomic
def review_pin(*, review: Review, by: AbstractBaseUser, entry: TimelineEntry, included: bool) -> ReviewPin:
    """Put a timeline entry into the generated timeline, or take one out."""
    review = _locked(review)
    _steerable(review, by)
    if review.is_published:
        raise ReviewError("The review is published: its timeline is final.")
    if entry.incident_id != review.incident_id:
        raise ReviewError("That entry belongs to another incident.")
    pin, _ = ReviewPin.objects.update_or_create(
        review=review, entry=entry, defaults={"included": included, "by": by, "at": timezone.now()}
    )
    review.revision += 1
    review.save(update_fields=["revision", "updated_at"])
    return pin


def default_attendees(incident: Incident) -> list[AbstractBaseUser]:
    return [
        p.user
        for p in Participation.objects.filter(incident=incident, user__is_active=True).select_related("user")
    ]


MEETING_HORIZON = timedelta(days=366)


@transaction.atomic
def review_schedule_meeting(
    *,
    review: Review,
    by: AbstractBaseUser,
    at: datetime,
    minutes: int = 60,
    location: str = "",
    attendees: Iterable[AbstractBaseUser] | None = None,
) -> Review:
    """Schedule (or move) the review meeting; every attendee gets an invitation with a calendar file."""
    review = _locked(review)
    _steerable(review, by)
    if at is None or timezone.is_naive(at):
        raise ReviewError("Give the meeting's date and time.")
    if at <= timezone.now():
        raise ReviewError("The meeting must be in the future.")
    # Its end goes into the invitation's calendar file: one at 9999-12-31 23:59 would overflow
    # (a 500 found by tests/fuzz/test_more_fields.py), and a review meets within weeks anyway.
    if at > timezone.now() + MEETING_HORIZON:
        raise ReviewError("The meeting must be within the next year.")
    if not 5 <= int(minutes) <= 480:
        raise ReviewError("A meeting lasts 5 minutes to 8 hours.")
    location = one_line(location, 300, "the location")
    incident = review.incident
    people = list(attendees) if attendees is not None else default_attendees(incident)
    if review.owner is not None and review.owner not in people:
        people.append(review.owner)
    # A restricted incident's meeting reaches only who may see it.
    people = who_can_see(incident=incident, people=people)
    if not people:
        raise ReviewError("Nobody who may see this incident would be invited.")
    review.meeting_at = at
    review.meeting_minutes = int(minutes)
    review.meeting_location = location
    review.meeting_sequence += 1
    review.revision += 1
    review.save(
        update_fields=[
            "meeting_at",
            "meeting_minutes",
            "meeting_location",
            "meeting_sequence",
            "revision",
            "updated_at",
        ]
    )
    review.meeting_attendees.set(people)
    _send_invitation(review, people)
    local = timezone.localtime(at)
    record_entry(
        incident=incident,
        body=f"Review meeting {'moved to' if review.meeting_sequence > 1 else 'scheduled for'} "
        f"{local:%a %b %-d, %H:%M} ({review.meeting_minutes} min), {len(people)} invited.",
        by=by,
        data={"review": review.pk, "meeting_at": at.isoformat()},
    )
    return review


def _send_invitation(review: Review, people: list[AbstractBaseUser]) -> None:
    incident = review.incident
    local = timezone.localtime(review.meeting_at)
    url = settings.SITE_URL + review.get_absolute_url()
    body = (
        f"You are invited to the blameless review of {incident.reference} {incident.title} on "
        f"{local:%A %B %-d at %H:%M %Z} ({review.meeting_minutes} minutes)"
        + (f", {review.meeting_location}" if review.meeting_location else "")
        + f".\n\nRead the review before the meeting: {url}\n\nThe calendar file is attached."
    )
    recipients, _refused = recipients_split([r for person in people for r in recipients_for_user(person)])
    if not recipients:
        return
    # A restricted incident's invitation, and the calendar file with it, say no more than issue 13's rule.
    subject, body, _ = message_about(
        incident,
        subject=f"[{incident.reference}] Review meeting {local:%b %-d, %H:%M}: {incident.title}",
        body=body,
        restricted_lines=[f"The review: {url}", "The calendar file is attached."],
    )
    summary, description = meeting_summary(review)
    summary, description, _ = message_about(
        incident, subject=summary, body=description, restricted_lines=[f"The review: {url}"]
    )
    message_send(
        kind="other",
        subject=subject,
        body=body,
        recipients=recipients,
        incident=incident,
        dedup_key=f"review:invite:{review.pk}:{review.meeting_sequence}",
        context={
            "review": review.pk,
            "attachments": [
                {
                    "filename": "review-meeting.ics",
                    "content_type": "text/calendar; method=REQUEST; charset=utf-8",
                    "content": meeting_calendar(review, people, summary=summary, description=description),
                }
            ],
        },
    )


TRANSITIONS = {
    State.DRAFT: (State.IN_REVIEW,),
    State.IN_REVIEW: (State.DRAFT,),
    State.PUBLISHED: (),
}


@transaction.atomic
def review_set_state(*, review: Review, by: AbstractBaseUser, state: str) -> Review:
    """Draft ↔ in review. Publishing is review_publish()."""
    review = _locked(review)
    _steerable(review, by)
    if state == State.PUBLISHED:
        raise ReviewError("Publish the review with its own button (it freezes the record).")
    if state not in State.values:
        raise ReviewError(f"{state!r} is not a review state.")
    if state not in TRANSITIONS[review.state]:
        raise ReviewError(
            f"A review cannot go from {review.get_state_display().lower()} to {State(state).label.lower()}."
        )
    review.state = state
    review.revision += 1
    review.save(update_fields=["state", "revision", "updated_at"])
    record_entry(
        incident=review.incident,
        body=f"Post-incident review is {review.get_state_display().lower()}.",
        by=by,
        data={"review": review.pk, "state": state},
    )
    return review


def review_document(review: Review) -> dict:
    incident = review.incident
    return {
        "id": review.pk,
        "incident": incident.reference,
        "incident_id": incident.pk,
        "state": review.state,
        "owner": person_name(review.owner) if review.owner else None,
        "due_on": review.due_on.isoformat(),
        "published_at": review.published_at.isoformat() if review.published_at else None,
        "url": settings.SITE_URL + review.get_absolute_url(),
        "sections": {name: getattr(review, name) for name in Review.SECTIONS},
        "contributing_factors": [f.text for f in review.factors.filter(parent__isnull=True)],
        "durations": review.published_record.get("durations", {}),
        "public_postmortem": review.public_postmortem,
    }


@transaction.atomic
def review_publish(*, review: Review, by: AbstractBaseUser, public_postmortem: str = "") -> Review:
    """Freeze the record, make the review read-only, and optionally tell customers on the status page."""
    review = _locked(review)
    _steerable(review, by)
    if review.is_published:
        raise ReviewError("The review is published already: amend it instead.")
    incident = review.incident
    if incident.status != Incident.Status.RESOLVED:
        raise ReviewError("The incident is open again: resolve it before publishing its review.")
    if not review.summary.strip():
        raise ReviewError("Write the summary before publishing.")
    public_postmortem = long_text(public_postmortem, 10000, "the public postmortem")
    now = timezone.now()
    review.state = State.PUBLISHED
    review.published_at = now
    review.published_by = by
    review.published_record = review_record(incident, review)
    review.public_postmortem = public_postmortem
    review.revision += 1
    review.save()
    if public_postmortem:
        statuspage_publish_postmortem(incident=incident, by=by, body=public_postmortem)
    record_entry(
        incident=incident,
        body="Post-incident review published."
        + (" A postmortem is on the status page." if public_postmortem else ""),
        by=by,
        data={"review": review.pk, "state": State.PUBLISHED},
    )
    hooks.emit(
        hooks.REVIEW_PUBLISHED,
        incident=incident,
        key=f"review:{review.pk}:published:{review.revision}",
        subject=f"{incident.reference} post-incident review published: {incident.title}",
        body=review.summary,
        document={"review": review_document(review)},
    )
    return review


@transaction.atomic
def review_amend(*, review: Review, by: AbstractBaseUser, body: str) -> ReviewAmendment:
    """Something learned after publishing: listed under the review, which itself stays as published."""
    review = _locked(review)
    if not permissions.may_amend(by, review):
        raise NotAllowed("Only the review's owner, the incident's participants and admins amend the review.")
    if not review.is_published:
        raise ReviewError("The review is not published yet: edit it directly.")
    body = long_text(body, 10000, "an amendment")
    if not body:
        raise ReviewError("Say what the amendment adds or corrects.")
    amendment = ReviewAmendment.objects.create(
        review=review, body=body, body_html=render_markdown(body), author=by
    )
    review.revision += 1
    review.save(update_fields=["revision", "updated_at"])
    record_entry(
        incident=review.incident,
        body=f"Review amended: {body[:200]}",
        by=by,
        data={"review": review.pk, "amendment": amendment.pk},
    )
    return amendment
