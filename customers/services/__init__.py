"""Every change to customers and to what is done with them on an incident goes through here.

One module per subdomain; import from here (`from customers.services import ...`):

- records: customers and contacts, one by one or imported from CSV
- affected: the affected customers of an incident, edited in the room
- updates: direct updates from the room, through the comms outbox
- calls: calls recorded per customer, and the beat's call reminder
- follow_ups: after resolution, a follow-up (and the liaison's task) per customer
- social: public updates posted to the company's social accounts (apprise)
- common: CustomerError, NotAllowed, the customer entry on the timeline
"""

from django.db import transaction

from core.tasks import enqueue
from customers.services.affected import affected_add, affected_remove
from customers.services.calls import call_record, call_reminders_send
from customers.services.common import CustomerError, NotAllowed
from customers.services.follow_ups import (
    FOLLOW_UPS_TASK,
    follow_up_close,
    follow_up_confirm,
    follow_ups_open,
    follow_ups_open_missed,
    resolved,
)
from customers.services.records import (
    ImportResult,
    contact_create,
    contact_delete,
    contact_update,
    customer_create,
    customer_delete,
    customer_update,
    customers_import_csv,
)
from customers.services.social import social_account_save, social_posts_for_entry
from customers.services.updates import KEEP, direct_update_send, template_for
from incidents.models import TimelineEntry


def entry_follows(entry: TimelineEntry) -> None:
    """What a new timeline entry means for customers (registered in customers/apps.py).

    - status → resolved: open the follow-ups, after commit (a task: the resolve does not
      wait for them, and the beat opens them if the task is lost);
    - a public update with "notify": post it to the social accounts, in this transaction.
    """
    if resolved(entry):
        incident_id = entry.incident_id

        def open_follow_ups() -> None:
            try:
                enqueue(FOLLOW_UPS_TASK, incident_id)
            except Exception:  # noqa: BLE001 - the beat's sweep opens them (follow_ups_open_missed)
                pass

        transaction.on_commit(open_follow_ups)
    elif entry.kind == TimelineEntry.Kind.PUBLIC_UPDATE:
        social_posts_for_entry(entry)


__all__ = [
    "KEEP",
    "CustomerError",
    "ImportResult",
    "NotAllowed",
    "affected_add",
    "affected_remove",
    "call_record",
    "call_reminders_send",
    "contact_create",
    "contact_delete",
    "contact_update",
    "customer_create",
    "customer_delete",
    "customer_update",
    "customers_import_csv",
    "direct_update_send",
    "entry_follows",
    "follow_up_close",
    "follow_up_confirm",
    "follow_ups_open",
    "follow_ups_open_missed",
    "social_account_save",
    "social_posts_for_entry",
    "template_for",
]
