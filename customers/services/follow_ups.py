"""After resolution: MNX's "follow up with the customer to make sure everything is working from their end".

When an incident resolves, the liaison gets a task per affected customer (roles.Task, on
their dashboard) and the room lists the customers until each confirms (or the liaison
closes it with the reason). Opened once per resolution, on commit by a task, and again by
the beat if that task was lost.
"""

import logging
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.text import one_line
from customers import permissions, selectors
from customers.models import CustomerFollowUp
from customers.services.common import CustomerError, affected_row, locked_for_contact, names, record
from incidents.models import Incident, TimelineEntry
from incidents.services import incident_lock
from roles.models import Task
from roles.permissions import holders_of
from roles.services import RoleError
from roles.services.common import room_url, send_to, subject_for
from roles.services.tasks import task_give_after, task_move

logger = logging.getLogger(__name__)

FOLLOW_UPS_TASK = "customers.follow_ups_open"
NOTE_MAX = 500
# The beat opens follow-ups a lost task did not, for incidents resolved this recently.
MISSED_WITHIN = timedelta(days=2)


def follow_up_title(customer) -> str:
    return f"Follow up with {customer}: make sure everything is working from their end"


@transaction.atomic
def follow_ups_open(*, incident_id: int) -> list[CustomerFollowUp]:
    """Open a follow-up (and the liaison's task) per affected customer of a resolved incident.

    Idempotent: a customer with a follow-up pending, or opened since this resolution, gets none.
    """
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        return []
    incident = incident_lock(incident)
    if incident.status != Incident.Status.RESOLVED or incident.resolved_at is None:
        return []
    affected = selectors.affected_customers(incident, with_messages=False)
    if not affected.active:
        return []
    rows = [
        item.row or affected_row(incident, item.customer, derived=item.derived) for item in affected.active
    ]
    settled_or_pending = set(
        CustomerFollowUp.objects.filter(affected__in=rows)
        .filter(Q(state=CustomerFollowUp.State.PENDING) | Q(opened_at__gte=incident.resolved_at))
        .values_list("affected_id", flat=True)
    )
    due = [row for row in rows if row.pk not in settled_or_pending]
    if not due:
        return []
    liaison = permissions.liaison_of(holders_of(incident)) or incident.declared_by
    opened = []
    for row in due:
        task = None
        if liaison is not None:
            try:
                task = task_give_after(
                    incident=incident, title=follow_up_title(row.customer), assignee=liaison
                )
            except RoleError:
                logger.warning("No follow-up task for %s on %s", row.customer_id, incident.reference)
        opened.append(CustomerFollowUp.objects.create(affected=row, task=task))
    customers = [row.customer for row in due]
    record(
        incident,
        body=f"Follow-ups opened with {names(customers)}: make sure everything is working from their end, "
        "and record when they confirm.",
        by=None,
        event="follow_ups_opened",
        customers=[c.pk for c in customers],
    )
    if liaison is not None:
        try:
            send_to(
                kind="other",
                subject=subject_for(incident, f"Follow up with {len(customers)} customer(s)"),
                body=f"{incident.reference} is resolved. Follow up with {names(customers)} to make sure "
                "everything is working from their end, and record each answer in the room: "
                f"{room_url(incident)}",
                to=[liaison],
                incident=incident,
                dedup_key=f"customers:follow-ups:{incident.pk}:{incident.resolved_at.timestamp():.0f}",
            )
        except RoleError:
            logger.warning("Follow-up notice for %s not sent", incident.reference, exc_info=True)
    return opened


def follow_ups_open_missed(*, now=None) -> int:
    """The beat's safety net: incidents resolved lately whose follow-ups were not opened (a lost task)."""
    now = now or timezone.now()
    recent = Incident.objects.filter(status=Incident.Status.RESOLVED, resolved_at__gte=now - MISSED_WITHIN)
    count = 0
    for incident_id in recent.values_list("pk", flat=True):
        count += len(follow_ups_open(incident_id=incident_id))
    return count


def _settle(*, follow_up: CustomerFollowUp, by: AbstractBaseUser, state: str, note: str) -> CustomerFollowUp:
    incident = locked_for_contact(follow_up.affected.incident, by)
    follow_up = (
        CustomerFollowUp.objects.select_for_update().select_related("affected__customer").get(pk=follow_up.pk)
    )
    if not follow_up.is_pending:
        raise CustomerError(f"This follow-up is {follow_up.get_state_display().lower()} already.")
    note = one_line(note)
    if len(note) > NOTE_MAX:
        raise CustomerError(f"Keep the note to {NOTE_MAX} characters.")
    if state == CustomerFollowUp.State.CLOSED and not note:
        raise CustomerError("Say why the follow-up is closed without the customer's confirmation.")
    follow_up.state, follow_up.note = state, note
    follow_up.settled_at, follow_up.settled_by = timezone.now(), by
    follow_up.save(update_fields=["state", "note", "settled_at", "settled_by"])
    if follow_up.task_id:
        task = Task.objects.filter(pk=follow_up.task_id, state__in=Task.ACTIVE_STATES).first()
        if task is not None:
            # The portal closes the liaison's task: whoever recorded the answer did its work.
            task_move(
                task=task,
                by=None,
                state=Task.State.DONE if state == CustomerFollowUp.State.CONFIRMED else Task.State.DROPPED,
            )
    customer = follow_up.affected.customer
    if state == CustomerFollowUp.State.CONFIRMED:
        body = f"{customer} confirmed everything is working from their end" + (f": {note}" if note else ".")
    else:
        body = f"Follow-up with {customer} closed without their confirmation: {note}"
    record(incident, body=body, by=by, event="follow_up", customers=[customer.pk], state=state)
    return follow_up


@transaction.atomic
def follow_up_confirm(
    *, follow_up: CustomerFollowUp, by: AbstractBaseUser, note: str = ""
) -> CustomerFollowUp:
    """The customer says everything works: "confirmed working", and their task is done."""
    return _settle(follow_up=follow_up, by=by, state=CustomerFollowUp.State.CONFIRMED, note=note)


@transaction.atomic
def follow_up_close(*, follow_up: CustomerFollowUp, by: AbstractBaseUser, reason: str) -> CustomerFollowUp:
    """No answer to be had (they did not reply, the contract ended): closed, with the reason."""
    return _settle(follow_up=follow_up, by=by, state=CustomerFollowUp.State.CLOSED, note=reason)


def resolved(entry: TimelineEntry) -> bool:
    data = entry.data if isinstance(entry.data, dict) else {}
    return (
        entry.kind == TimelineEntry.Kind.STATUS
        and data.get("to") == Incident.Status.RESOLVED
        and "from" in data
    )
