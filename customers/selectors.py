"""Reads of customers and of what was done with them on an incident, in a fixed number of queries.

The affected customers of an incident are those its services and components derive
(Customer.services / Customer.components) plus those added by hand, less those removed:
read here, at the moment, so that the list follows the incident's details as they change.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet

from comms.models import Delivery
from customers.models import AffectedCustomer, Contact, Customer, CustomerFollowUp, CustomerMessage
from incidents.models import Incident

# What the room says of one delivery of a direct update (comms' states, in the liaison's words).
DELIVERY_WORDS = {
    Delivery.State.PENDING: "sending",
    Delivery.State.SENDING: "sending",
    Delivery.State.SENT: "delivered",
    Delivery.State.FAILED: "retrying",
    Delivery.State.DEAD: "failed",
}


def customer_list() -> QuerySet[Customer]:
    return Customer.objects.prefetch_related("contacts", "services", "components").order_by("name")


def derived_customer_ids(incident: Incident) -> set[int]:
    """Customers using one of the incident's services or components (one query)."""
    return set(
        Customer.objects.filter(Q(services__incidents=incident) | Q(components__incidents=incident))
        .values_list("pk", flat=True)
        .distinct()
    )


def call_due_since(incident: Incident) -> datetime | None:
    """Since when the affected customers are to be called, or None.

    MNX: "if the ETA to fix is greater than an hour, call the customer". Each time the
    ETA is set or moved to more than CUSTOMERS_CALL_ETA_MINUTES from that moment, every
    affected customer is to be called (or skipped, with the reason) again.
    """
    if not incident.is_open or incident.eta is None or incident.eta_set_at is None:
        return None
    if incident.eta - incident.eta_set_at <= timedelta(minutes=settings.CUSTOMERS_CALL_ETA_MINUTES):
        return None
    return incident.eta_set_at


@dataclass
class Affected:
    """One affected customer as the room shows it."""

    customer: Customer
    row: AffectedCustomer | None
    derived: bool
    contacts: list[Contact] = field(default_factory=list)
    # The latest direct update to them: when, and each address with its state.
    last_update_at: datetime | None = None
    deliveries: list[tuple[str, str, str]] = field(default_factory=list)  # (address, word, error)
    needs_call: bool = False
    follow_up: CustomerFollowUp | None = None

    @property
    def delivery_summary(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for _address, word, _error in self.deliveries:
            counts[word] += 1
        return dict(counts)

    @property
    def phones(self) -> list[Contact]:
        return [c for c in self.contacts if c.phone]

    @property
    def has_email(self) -> bool:
        return any(c.email for c in self.contacts)


@dataclass
class AffectedList:
    incident: Incident
    active: list[Affected]
    removed: list[Affected]
    call_due_since: datetime | None

    @property
    def to_call(self) -> list[Affected]:
        return [a for a in self.active if a.needs_call]

    @property
    def follow_ups_pending(self) -> list[Affected]:
        return [a for a in self.active if a.follow_up is not None and a.follow_up.is_pending]

    @property
    def ids(self) -> list[int]:
        return [a.customer.pk for a in self.active]


def affected_customers(incident: Incident, *, with_messages: bool = True) -> AffectedList:
    """The incident's affected customers with their contacts, last update's deliveries, call and
    follow-up; removed ones apart. Seven queries, whatever the number of customers."""
    derived = derived_customer_ids(incident)
    rows = {row.customer_id: row for row in AffectedCustomer.objects.filter(incident=incident)}
    ids = derived | set(rows)
    customers = list(Customer.objects.filter(pk__in=ids).prefetch_related("contacts").order_by("name"))
    due = call_due_since(incident)

    latest: dict[int, CustomerMessage] = {}
    by_message: dict[int, list[Delivery]] = defaultdict(list)
    if with_messages and rows:
        for cm in (
            CustomerMessage.objects.filter(affected__incident=incident)
            .select_related("update")
            .order_by("update__sent_at", "pk")
        ):
            latest[cm.affected_id] = cm  # the last one wins
        for delivery in Delivery.objects.filter(
            message_id__in=[cm.message_id for cm in latest.values()]
        ).order_by("pk"):
            by_message[delivery.message_id].append(delivery)
    follow_ups: dict[int, CustomerFollowUp] = {}
    if rows:
        for follow_up in CustomerFollowUp.objects.filter(affected__incident=incident).order_by(
            "opened_at", "pk"
        ):
            current = follow_ups.get(follow_up.affected_id)
            # A pending one is what the room shows; otherwise the latest settled one.
            if current is None or not current.is_pending:
                follow_ups[follow_up.affected_id] = follow_up

    active, removed = [], []
    for customer in customers:
        row = rows.get(customer.pk)
        item = Affected(customer=customer, row=row, derived=customer.pk in derived)
        item.contacts = list(customer.contacts.all())
        if row is not None:
            message = latest.get(row.pk)
            if message is not None:
                item.last_update_at = message.update.sent_at
                item.deliveries = [
                    (d.address, DELIVERY_WORDS[d.state], d.last_error) for d in by_message[message.message_id]
                ]
            item.follow_up = follow_ups.get(row.pk)
        if row is not None and row.is_removed:
            removed.append(item)
            continue
        if due is not None:
            called = row is not None and row.call_state and row.called_at is not None and row.called_at >= due
            item.needs_call = not called
        active.append(item)
    return AffectedList(incident=incident, active=active, removed=removed, call_due_since=due)


def addable_customers(incident: Incident, affected: AffectedList) -> QuerySet[Customer]:
    """Customers the liaison may add by hand: every one not on the list already."""
    return Customer.objects.exclude(pk__in=affected.ids).only("pk", "name").order_by("name")


def pending_follow_ups(incident: Incident) -> QuerySet[CustomerFollowUp]:
    return CustomerFollowUp.objects.filter(
        affected__incident=incident, state=CustomerFollowUp.State.PENDING
    ).select_related("affected__customer")
