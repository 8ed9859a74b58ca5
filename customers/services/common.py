"""What the customers services share: their errors, the incident's lock, and the customer entry."""

from django.contrib.auth.models import AbstractBaseUser

from core import errors as core_errors
from customers import permissions
from customers.models import AffectedCustomer, Customer
from incidents.models import Incident, TimelineEntry
from incidents.services import IncidentError, incident_lock, timeline_record


class CustomerError(IncidentError):
    """A change the rules do not allow; the message is meant for a person. Nothing was written."""


class NotAllowed(CustomerError, core_errors.NotAllowed):
    """The person asking may not do this (a 403 in the API)."""


def locked_for_contact(incident: Incident, by: AbstractBaseUser) -> Incident:
    """Lock the incident and check that `by` may contact its customers."""
    incident = incident_lock(incident)
    if not permissions.may_contact_customers(by, incident):
        raise NotAllowed(
            "The customer liaison (or the Incident Commander, the deputy, the on-call responder or an "
            "admin) speaks to customers."
        )
    return incident


def affected_row(
    incident: Incident, customer: Customer, *, derived: bool, by: AbstractBaseUser | None = None
) -> AffectedCustomer:
    """The customer's row on the incident, written the first time something is done about them."""
    row, _created = AffectedCustomer.objects.get_or_create(
        incident=incident,
        customer=customer,
        defaults={
            "origin": AffectedCustomer.Origin.DERIVED if derived else AffectedCustomer.Origin.ADDED,
            "added_by": None if derived else by,
        },
    )
    return row


def record(
    incident: Incident, *, body: str, by: AbstractBaseUser | None, event: str, customers: list[int], **data
) -> TimelineEntry:
    """The timeline entry of what was done with customers.

    Its kind (customer) is no outgoing webhook's event unless a subscription is marked for
    customer data (integrations/webhooks.py), and no public surface shows the timeline.
    """
    return timeline_record(
        incident=incident,
        kind=TimelineEntry.Kind.CUSTOMER,
        body=body,
        author=by,
        data={"customer_event": event, "customers": customers, **data},
    )


def names(customers) -> str:
    names_ = [str(c) for c in customers]
    if len(names_) <= 1:
        return "".join(names_)
    return ", ".join(names_[:-1]) + " and " + names_[-1]
