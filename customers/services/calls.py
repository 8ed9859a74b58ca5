"""Calling customers: MNX's "if the ETA to fix is greater than an hour, immediately call the customer".

When the ETA is set (or moved) more than CUSTOMERS_CALL_ETA_MINUTES ahead, every affected
customer is to be called; the liaison records each call with a note, or skips it with the
reason. Until every one is recorded, the beat reminds the liaison every
CUSTOMERS_CALL_REMINDER_MINUTES, with the phone numbers: once per period, by its dedup key.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from comms.models import Message
from core.text import one_line
from customers import permissions, selectors
from customers.models import AffectedCustomer, Customer
from customers.services.common import CustomerError, affected_row, locked_for_contact, record
from incidents.models import Incident
from incidents.services.tools import eta_text
from roles.selectors import current_role_holders
from roles.services import RoleError
from roles.services.common import room_url, send_to, subject_for

logger = logging.getLogger(__name__)

NOTE_MAX = 500


@transaction.atomic
def call_record(
    *, incident: Incident, customer: Customer, by: AbstractBaseUser, outcome: str, note: str = ""
) -> AffectedCustomer:
    """Record that the customer was called (a note of what was said), or why the call is skipped."""
    incident = locked_for_contact(incident, by)
    note = one_line(note)
    if outcome not in AffectedCustomer.Call.values:
        raise CustomerError("A call is recorded as called or skipped.")
    if len(note) > NOTE_MAX:
        raise CustomerError(f"Keep the note to {NOTE_MAX} characters.")
    if outcome == AffectedCustomer.Call.SKIPPED and not note:
        raise CustomerError("Say why the call is skipped.")
    affected = selectors.affected_customers(incident, with_messages=False)
    item = next((a for a in affected.active if a.customer.pk == customer.pk), None)
    if item is None:
        raise CustomerError(f"{customer} is not on the list of affected customers.")
    row = item.row or affected_row(incident, customer, derived=item.derived, by=by)
    row = AffectedCustomer.objects.select_for_update().get(pk=row.pk)
    row.call_state, row.call_note, row.called_at, row.called_by = outcome, note, timezone.now(), by
    row.save(update_fields=["call_state", "call_note", "called_at", "called_by"])
    if outcome == AffectedCustomer.Call.CALLED:
        body = f"Called {customer}" + (f": {note}" if note else ".")
    else:
        body = f"Call to {customer} skipped: {note}"
    record(incident, body=body, by=by, event="call", customers=[customer.pk], outcome=outcome)
    return row


def _period(anchor: datetime, now: datetime) -> int:
    every = timedelta(minutes=settings.CUSTOMERS_CALL_REMINDER_MINUTES)
    return int((now - anchor) / every) if now >= anchor else 0


def _phone_lines(items) -> list[str]:
    lines = []
    for item in items:
        phones = [f"{c.name} {c.phone}" for c in item.phones]
        lines.append(f"- {item.customer}: " + ("; ".join(phones) if phones else "no phone number on file"))
    return lines


def call_reminders_send(*, now: datetime | None = None) -> int:
    """Remind the liaison of open incidents whose customers are still to be called; idempotent per period."""
    now = now or timezone.now()
    incidents = list(
        Incident.objects.filter(
            status__in=Incident.OPEN_STATUSES, eta__isnull=False, eta_set_at__isnull=False
        )
    )
    incidents = [i for i in incidents if selectors.call_due_since(i) is not None]
    if not incidents:
        return 0
    holders = current_role_holders(i.pk for i in incidents)
    sent = 0
    for incident in incidents:
        due = selectors.call_due_since(incident)
        to_call = selectors.affected_customers(incident, with_messages=False).to_call
        liaison = permissions.liaison_of(holders.get(incident.pk, []))
        if not to_call or liaison is None:
            continue
        key = f"customers:call:{incident.pk}:{due.timestamp():.0f}:{_period(due, now)}"
        if Message.objects.filter(dedup_key=key).exists():
            continue
        count = len(to_call)
        body = "\n".join(
            [
                f"The ETA to fix is {eta_text(incident.eta)}, more than "
                f"{settings.CUSTOMERS_CALL_ETA_MINUTES} minutes after it was given: call the affected "
                f"customers now, and record each call (or why you skip it) in the room. Still to call:",
                "",
                *_phone_lines(to_call),
                "",
                f"The room: {room_url(incident)}",
            ]
        )
        try:
            with transaction.atomic():
                send_to(
                    kind="reminder",
                    subject=subject_for(
                        incident, f"Call {count} affected customer{'s' if count != 1 else ''}"
                    ),
                    body=body,
                    to=[liaison],
                    incident=incident,
                    dedup_key=key,
                )
        except RoleError:
            logger.warning("Call reminder %s not sent", key, exc_info=True)
            continue
        sent += 1
    return sent
