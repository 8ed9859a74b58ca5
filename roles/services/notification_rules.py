"""How a page reaches one person: at once, or step by step by their personal notification rules.

PagerDuty style: "when I am paged for a major incident: push at once, SMS after
2 minutes, e-mail after 5, until I acknowledge". Each person keeps steps per
urgency (major = SEV-1/2, or not). When a page reaches them:

- the bell gets it at once (it is where the page lives in the portal);
- each step becomes a PageNotification row, due `delay_minutes` after;
  steps due now are sent in the paging transaction, the others by a countdown
  task (roles.page_step_send), with the beat sweep (page_steps_send_due)
  behind it for a countdown that was lost;
- an acknowledgement of the page (link, room, API or Slack: all go through
  page_acknowledge) stops every step still scheduled, as does the incident
  closing. Escalation to the next person runs on its own timer meanwhile.

Each step is one outbox message (kind "page"), recorded, retried and shown with
its state like every other. A person with no step for the urgency is paged the
way everyone always was: bell, e-mail and personal webhook at once.
"""

import logging
import uuid
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from comms.models import ContactMethod
from comms.selectors import email_channel, in_app_channel
from comms.services import Recipient, message_refused, recipient_for_method
from core.tasks import enqueue
from incidents.models import Incident
from roles import permissions
from roles.models import NotificationRule, Page, PageNotification, Urgency
from roles.services.ack_links import page_ack_url
from roles.services.common import (
    NotAllowed,
    RoleError,
    absolute_url,
    person_name,
    room_url,
    send_to,
    subject_for,
)

logger = logging.getLogger(__name__)

# roles/tasks.py, which calls back into page_step_send.
STEP_TASK = "roles.page_step_send"
# Steps per urgency, and how late the last may be. A step's countdown task must
# stay well inside the broker's visibility timeout (CELERY_VISIBILITY_TIMEOUT).
MAX_STEPS = 10
MAX_DELAY_MINUTES = 120
EMAIL_NAME = "E-mail"


def urgency_of(incident: Incident) -> str:
    return Urgency.MAJOR if incident.is_major else Urgency.OTHER


# --- The rules ------------------------------------------------------------------------------------


def rules_of(user: AbstractBaseUser, urgency: str | None = None):
    rules = NotificationRule.objects.filter(user=user).select_related("contact_method")
    if urgency is not None:
        rules = rules.filter(urgency=urgency)
    return rules.order_by("urgency", "delay_minutes", "pk")


@transaction.atomic
def notification_rule_add(
    *,
    user: AbstractBaseUser,
    by: AbstractBaseUser,
    urgency: str,
    delay_minutes: int,
    contact_method: ContactMethod | None = None,
) -> NotificationRule:
    """Add a step: "`contact_method` (None: e-mail) `delay_minutes` after I am paged for `urgency`"."""
    if not permissions.may_edit_notification_rules(by, user):
        raise NotAllowed("These are not your notification rules.")
    if urgency not in Urgency.values:
        raise RoleError("Choose the urgency: major incidents (SEV-1, SEV-2) or the others.")
    if not isinstance(delay_minutes, int) or not 0 <= delay_minutes <= MAX_DELAY_MINUTES:
        raise RoleError(f"A step comes 0 to {MAX_DELAY_MINUTES} minutes after the page.")
    if contact_method is not None and contact_method.user_id != user.pk:
        raise NotAllowed("A step uses your own contact methods only.")
    # Locks the person's row: two adds at once cannot both pass the checks below.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    steps = NotificationRule.objects.filter(user=user, urgency=urgency)
    if steps.filter(contact_method=contact_method, delay_minutes=delay_minutes).exists():
        raise RoleError("That step is in your rules already.")
    if steps.count() >= MAX_STEPS:
        raise RoleError(f"At most {MAX_STEPS} steps per urgency.")
    rule = NotificationRule.objects.create(
        user=user, urgency=urgency, delay_minutes=delay_minutes, contact_method=contact_method
    )
    logger.info("Notification rule %s added for user %s by %s", rule.pk, user.pk, by.pk)
    return rule


@transaction.atomic
def notification_rule_remove(*, rule: NotificationRule, by: AbstractBaseUser) -> None:
    """Remove a step; pages already under way keep the steps they scheduled."""
    if not permissions.may_edit_notification_rules(by, rule.user):
        raise NotAllowed("These are not your notification rules.")
    rule.delete()


# --- A page reaching one person ---------------------------------------------------------------------


def page_text(page: Page, user: AbstractBaseUser) -> tuple[str, str, dict, str]:
    """Subject, body, webhook context and the person's acknowledge link for one page."""
    incident = page.incident
    ack = absolute_url(page_ack_url(page=page, user=user))
    why = {
        Page.Target.INCIDENT_COMMANDER: "You are paged as the on-call Incident Commander.",
        Page.Target.SCHEDULE: f"You are on call for {page.schedule}."
        if page.schedule
        else "You are on call.",
        Page.Target.SERVICE: f"You own {page.service}." if page.service else "You own an affected service.",
        Page.Target.PERSON: f"{person_name(page.created_by)} asks for your help.",
    }[page.target]
    lines = [
        f"**{incident.reference} {incident.severity_label}: {incident.title}**",
        "",
        why,
    ]
    if page.message:
        lines += ["", page.message]
    if page.level:
        lines += ["", "Escalated: nobody acknowledged before you."]
    lines += ["", f"Acknowledge: {ack}", f"Incident room: {room_url(incident)}"]
    context = {
        "page": page.pk,
        "incident": incident.reference,
        "ack_url": ack,
        "room_url": room_url(incident),
    }
    return subject_for(incident, f"Page: {incident.title}"), "\n".join(lines), context, ack


def page_notify_person(page: Page, user: AbstractBaseUser) -> None:
    """Reach one person for this page (at its current level): by their rules, or at once by every path."""
    subject, body, context, ack = page_text(page, user)
    first = {
        "kind": "page",
        "subject": subject,
        "body": body,
        "to": [user],
        "incident": page.incident,
        "dedup_key": f"page:{page.pk}:{page.level}:{user.pk}",
        "context": context,
        # The acknowledge link is the paged person's: the outbox (read by the
        # IC and admins) shows it masked; the page itself carries it.
        "secret_values": [ack],
        # About a restricted incident, a page says only that one needs you, and how to acknowledge.
        "restricted_lines": [f"Acknowledge: {ack}"],
    }
    rules = list(rules_of(user, urgency_of(page.incident)))
    if not rules:
        send_to(**first)
        return
    send_to(**first, recipients=[Recipient(channel=in_app_channel(), user=user)])
    now = timezone.now()
    steps = [
        PageNotification(
            page=page,
            user=user,
            level=page.level,
            position=position,
            urgency=rule.urgency,
            contact_method=rule.contact_method,
            by_email=rule.contact_method_id is None,
            method_name=(rule.contact_method.label if rule.contact_method_id else EMAIL_NAME)[:100],
            delay_minutes=rule.delay_minutes,
            due_at=now + timedelta(minutes=rule.delay_minutes),
        )
        for position, rule in enumerate(rules)
    ]
    # A person paged twice at the same level (the same page sent again) keeps the steps they have.
    PageNotification.objects.bulk_create(steps, ignore_conflicts=True)
    for step in PageNotification.objects.filter(
        page=page, level=page.level, user=user, state=PageNotification.State.SCHEDULED
    ).select_related("contact_method"):
        if step.due_at <= now:
            _send_step(step, page, user)
        else:
            _schedule_step(step)


def _schedule_step(step: PageNotification) -> None:
    step_id, token, eta = step.pk, str(step.token), step.due_at

    def enqueue_step() -> None:
        try:
            enqueue(STEP_TASK, step_id, token, eta=eta)
        except Exception:  # noqa: BLE001 - the beat sweep sends overdue steps too
            logger.warning("Could not schedule step %s of a page", step_id, exc_info=True)

    transaction.on_commit(enqueue_step)


def _finish(step: PageNotification, state: str, *, note: str = "", message=None) -> None:
    step.state = state
    step.token = uuid.uuid4()
    step.done_at = timezone.now()
    step.note = note[:200]
    step.message = message
    step.save(update_fields=["state", "token", "done_at", "note", "message"])


def _step_recipient(step: PageNotification, user: AbstractBaseUser) -> Recipient | None:
    if step.by_email:
        return Recipient(channel=email_channel(), address=user.email, user=user)
    if step.contact_method_id is not None:
        return recipient_for_method(step.contact_method)
    return None  # its contact method was removed since


def _send_step(step: PageNotification, page: Page, user: AbstractBaseUser) -> None:
    """Send one due step (in the caller's transaction, with the page row locked or just written)."""
    recipient = _step_recipient(step, user)
    if recipient is None:
        _finish(step, PageNotification.State.STOPPED, note="The contact method was removed.")
        return
    subject, body, context, ack = page_text(page, user)
    dedup_key = f"page:{page.pk}:{step.level}:{user.pk}:step:{step.position}"
    try:
        message = send_to(
            kind="page",
            subject=subject,
            body=body,
            to=[user],
            incident=page.incident,
            dedup_key=dedup_key,
            context=context,
            secret_values=[ack],
            restricted_lines=[f"Acknowledge: {ack}"],
            recipients=[recipient],
        )
    except RoleError as error:
        # Nobody reachable on this path (no e-mail address, a person made inactive):
        # recorded in the outbox as a dead message with the reason, and the other steps go on.
        message = message_refused(
            kind="page",
            subject=subject,
            recipients=[recipient],
            reason=str(error),
            incident=page.incident,
            dedup_key=f"{dedup_key}:refused",
        )
    _finish(step, PageNotification.State.SENT, message=message)


def _stop_reason(page: Page) -> str | None:
    if page.status == Page.Status.ACKNOWLEDGED:
        return f"Stopped: {person_name(page.acknowledged_by)} acknowledged the page."
    if page.status == Page.Status.CANCELLED or not page.incident.is_open:
        return "Stopped: the incident is closed."
    return None  # waiting, or exhausted: a person can still acknowledge, so the steps go on


@transaction.atomic
def page_step_send(*, step_id: int, token: str) -> PageNotification | None:
    """Send a step at its due time, unless the page was acknowledged (then the step stops).

    Does nothing (returns None) when the run is stale: sent or stopped already
    (the token changed), or not due yet.
    """
    page_id = PageNotification.objects.filter(pk=step_id).values_list("page_id", flat=True).first()
    if page_id is None:
        return None
    # The page first, as page_acknowledge locks it: an acknowledgement either
    # comes before (this step stops) or after (it was sent; nothing is left to stop).
    page = Page.objects.select_for_update(of=("self",)).select_related("incident").get(pk=page_id)
    step = (
        PageNotification.objects.select_for_update(of=("self",))
        .select_related("user", "contact_method")
        .filter(pk=step_id)
        .first()
    )
    if step is None or step.state != PageNotification.State.SCHEDULED or str(step.token) != str(token):
        return None
    if step.due_at > timezone.now():
        return None
    reason = _stop_reason(page)
    if reason is not None:
        _finish(step, PageNotification.State.STOPPED, note=reason)
        return step
    _send_step(step, page, step.user)
    return step


def page_steps_send_due(*, limit: int = 500) -> int:
    """The safety net behind the countdown tasks: every step past its time is sent (or stopped) now."""
    due = PageNotification.objects.filter(
        state=PageNotification.State.SCHEDULED, due_at__lte=timezone.now()
    ).values_list("pk", "token")
    count = 0
    for step_id, token in list(due.order_by("due_at", "pk")[:limit]):
        if page_step_send(step_id=step_id, token=str(token)) is not None:
            count += 1
    return count


def page_steps_stop(*, page: Page, reason: str) -> int:
    """Stop every step of this page still scheduled (in the caller's transaction, page row locked)."""
    return PageNotification.objects.filter(page=page, state=PageNotification.State.SCHEDULED).update(
        state=PageNotification.State.STOPPED, token=uuid.uuid4(), done_at=timezone.now(), note=reason[:200]
    )
