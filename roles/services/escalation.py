"""What happens to a page once sent: it escalates step by step until someone acknowledges it.

page_escalate is run by a countdown task per step (roles.tasks.page_escalate);
pages_escalate_overdue is the beat sweep that catches any countdown lost.
"""

import uuid
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from incidents.models import TimelineEntry
from incidents.services import incident_acknowledge, timeline_record
from roles.models import Page
from roles.selectors import current_holder
from roles.services.assignments import role_assign_locked
from roles.services.common import NotAllowed, RoleError, person_name, room_url, send_to, subject_for
from roles.services.notification_rules import page_steps_stop
from roles.services.paging import names_of, notify_page_targets, schedule_escalation


def _minutes(n: int) -> str:
    return f"{n} minute" if n == 1 else f"{n} minutes"


@transaction.atomic
def page_escalate(*, page_id: int, token: str) -> Page | None:
    """Move an unacknowledged page to the next step of its chain.

    Does nothing (returns None) when the run is stale: the page was
    acknowledged, escalated already (the token changed), or is not due yet.
    """
    page = Page.objects.select_for_update(of=("self",)).select_related("incident").filter(pk=page_id).first()
    if page is None or page.status != Page.Status.TRIGGERED or str(page.escalation_token) != str(token):
        return None
    now = timezone.now()
    if page.escalates_at is None or now < page.escalates_at:
        return None
    if not page.incident.is_open:
        page.status = Page.Status.CANCELLED
        page.escalates_at = None
        page.escalation_token = uuid.uuid4()
        page.save(update_fields=["status", "escalates_at", "escalation_token"])
        page_steps_stop(page=page, reason="Stopped: the incident is closed.")
        return page
    waited = page.escalation_minutes
    if page.level + 1 >= len(page.steps):
        page.status = Page.Status.EXHAUSTED
        page.escalates_at = None
        page.escalation_token = uuid.uuid4()
        page.save(update_fields=["status", "escalates_at", "escalation_token"])
        timeline_record(
            incident=page.incident,
            kind=TimelineEntry.Kind.PAGE,
            body=f"Nobody acknowledged the page within {_minutes(waited)}, and there is nobody left to "
            "escalate to. Page someone else.",
            author=None,
            data={"page": page.pk, "exhausted": True, "level": page.level},
        )
        if page.created_by is not None and page.created_by.is_active:
            # Whoever asked for help must know that nobody is coming.
            send_to(
                kind="reminder",
                subject=subject_for(page.incident, "Nobody acknowledged your page"),
                body=f"Nobody acknowledged your page within {_minutes(waited)} at any step. "
                f"Page someone else: {room_url(page.incident)}",
                to=[page.created_by],
                incident=page.incident,
                dedup_key=f"page-exhausted:{page.pk}",
            )
        return page
    page.level += 1
    page.escalates_at = now + timedelta(minutes=waited)
    page.escalation_token = uuid.uuid4()
    page.save(update_fields=["level", "escalates_at", "escalation_token"])
    users = notify_page_targets(page, page.steps[page.level])
    timeline_record(
        incident=page.incident,
        kind=TimelineEntry.Kind.PAGE,
        body=f"Page escalated to {names_of(users)}: nobody acknowledged within {_minutes(waited)}.",
        author=None,
        data={"page": page.pk, "notified": [u.pk for u in users], "level": page.level},
    )
    schedule_escalation(page)
    return page


def pages_escalate_overdue() -> int:
    """The safety net behind the countdown tasks: escalate every page that is past due."""
    due = Page.objects.filter(status=Page.Status.TRIGGERED, escalates_at__lte=timezone.now()).values_list(
        "pk", "escalation_token"
    )
    count = 0
    for page_id, token in list(due[:500]):
        if page_escalate(page_id=page_id, token=str(token)) is not None:
            count += 1
    return count


@transaction.atomic
def page_acknowledge(*, page: Page, user: AbstractBaseUser) -> Page:
    """The person takes the page; for an IC page with nobody in the role, they become IC."""
    page = (
        Page.objects.select_for_update(of=("self",))
        .select_related("incident", "acknowledged_by")
        .get(pk=page.pk)
    )
    if page.status == Page.Status.ACKNOWLEDGED:
        raise RoleError(
            f"This page was acknowledged already by {person_name(page.acknowledged_by)} at "
            f"{timezone.localtime(page.acknowledged_at):%H:%M} UTC. Nothing changed."
        )
    if page.status == Page.Status.CANCELLED:
        raise RoleError("This page was cancelled: the incident is closed.")
    if not page.notified.filter(pk=user.pk).exists():
        raise NotAllowed("This page was not sent to you.")
    now = timezone.now()
    page.status = Page.Status.ACKNOWLEDGED
    page.acknowledged_by = user
    page.acknowledged_at = now
    page.escalates_at = None
    page.escalation_token = uuid.uuid4()
    page.save(
        update_fields=["status", "acknowledged_by", "acknowledged_at", "escalates_at", "escalation_token"]
    )
    # Whoever acknowledged, wherever (link, room, API, Slack): nobody's remaining
    # notification steps for this page are sent.
    page_steps_stop(page=page, reason=f"Stopped: {person_name(user)} acknowledged the page.")
    # The incident's first acknowledgement (time to acknowledge stops here), unless a move out of
    # triage came first; the entry below says which.
    first = incident_acknowledge(incident=page.incident, at=now)
    timeline_record(
        incident=page.incident,
        kind=TimelineEntry.Kind.PAGE,
        body=f"{person_name(user)} acknowledged the page",
        author=user,
        data={"page": page.pk, "acknowledged": True, **({"incident_acknowledged": True} if first else {})},
    )
    if page.role and page.incident.is_open and current_holder(incident=page.incident, role=page.role) is None:
        role_assign_locked(incident=page.incident, role=page.role, user=user, by=user)
    if page.created_by is not None and page.created_by.pk != user.pk:
        send_to(
            kind="page_ack",
            subject=subject_for(page.incident, f"{person_name(user)} acknowledged your page"),
            body=f"{person_name(user)} acknowledged the page for {page.incident.reference}.\n\n"
            + room_url(page.incident),
            to=[page.created_by],
            incident=page.incident,
            dedup_key=f"page-ack:{page.pk}",
        )
    return page
