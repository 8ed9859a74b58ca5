"""The affected customers of an incident: derived from its services and components, edited in the room."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from core.text import one_line
from customers import selectors
from customers.models import AffectedCustomer, Customer
from customers.services.common import CustomerError, affected_row, locked_for_contact, record
from incidents.models import Incident


@transaction.atomic
def affected_add(*, incident: Incident, customer: Customer, by: AbstractBaseUser) -> AffectedCustomer:
    """Put a customer on the incident by hand (or back on it, after a removal)."""
    incident = locked_for_contact(incident, by)
    row = AffectedCustomer.objects.select_for_update().filter(incident=incident, customer=customer).first()
    if row is not None and not row.is_removed:
        raise CustomerError(f"{customer} is on the list already.")
    derived = customer.pk in selectors.derived_customer_ids(incident)
    if row is None:
        if derived:
            raise CustomerError(
                f"{customer} is on the list already: it uses an affected service or component."
            )
        row = affected_row(incident, customer, derived=False, by=by)
    else:
        row.removed_at, row.removed_by, row.removed_reason = None, None, ""
        row.save(update_fields=["removed_at", "removed_by", "removed_reason"])
    record(
        incident,
        body=f"{customer} added to the affected customers.",
        by=by,
        event="added",
        customers=[customer.pk],
    )
    return row


@transaction.atomic
def affected_remove(
    *, incident: Incident, customer: Customer, by: AbstractBaseUser, reason: str
) -> AffectedCustomer:
    """Take a customer off the list, with the reason; it stays off whatever the derivation says."""
    incident = locked_for_contact(incident, by)
    reason = one_line(reason)
    if not reason:
        raise CustomerError("Say why the customer is not affected.")
    if len(reason) > 300:
        raise CustomerError("Keep the reason to 300 characters.")
    row = AffectedCustomer.objects.select_for_update().filter(incident=incident, customer=customer).first()
    derived = customer.pk in selectors.derived_customer_ids(incident)
    if (row is None and not derived) or (row is not None and row.is_removed):
        raise CustomerError(f"{customer} is not on the list.")
    if row is None:
        row = affected_row(incident, customer, derived=True)
    row.removed_at, row.removed_by, row.removed_reason = timezone.now(), by, reason
    row.save(update_fields=["removed_at", "removed_by", "removed_reason"])
    record(
        incident,
        body=f"{customer} taken off the affected customers: {reason}",
        by=by,
        event="removed",
        customers=[customer.pk],
    )
    return row
