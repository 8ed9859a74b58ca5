"""Who may do what with customers, written once.

Customer records are read by every active responder (the room lists the affected ones
and their phone numbers) and kept by admins (the admin, CSV import, the API's writes).
Contacting customers during an incident (direct updates, calls, the affected list,
follow-ups) is the customer liaison's, and the Incident Commander's, the deputy's and
the on-call responder's of a small incident, and admins'; the rules read the incident's
current role holders (roles/permissions.py).
"""

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from incidents.models import Incident
from incidents.permissions import is_active, is_admin, may_see_incident
from roles.models import IncidentRole, RoleAssignment
from roles.permissions import holders_of

Person = AbstractBaseUser | AnonymousUser

# Who speaks to customers: the liaison, and those who command (or alone work) the incident.
CONTACT_ROLES = (
    IncidentRole.CUSTOMER_LIAISON,
    IncidentRole.INCIDENT_COMMANDER,
    IncidentRole.DEPUTY,
    IncidentRole.ON_CALL,
)
# Who is reminded to call and given the follow-ups: the first of these who holds a role.
LIAISON_ORDER = (IncidentRole.CUSTOMER_LIAISON, IncidentRole.INCIDENT_COMMANDER, IncidentRole.ON_CALL)

# The Django permission that manages customer records (superusers have it).
MANAGE = "customers.change_customer"


def may_read_customers(user: Person) -> bool:
    return is_active(user)


def may_manage_customers(user: Person) -> bool:
    """Create, change, import and remove customers and contacts: admins with the permission."""
    return is_active(user) and (user.is_superuser or user.has_perm(MANAGE))


def may_contact_customers(
    user: Person, incident: Incident, holders: Sequence[RoleAssignment] | None = None
) -> bool:
    """Send direct updates, record calls, change the affected list, settle follow-ups."""
    if not may_see_incident(user, incident):
        return False
    if is_admin(user):
        return True
    holders = holders_of(incident) if holders is None else holders
    return any(a.user_id == user.pk and a.role in CONTACT_ROLES for a in holders)


def liaison_of(holders: Sequence[RoleAssignment]) -> AbstractBaseUser | None:
    """The person who talks to customers now: the customer liaison, else the IC, else the on-call."""
    for role in LIAISON_ORDER:
        holder = next((a for a in holders if a.role == role), None)
        if holder is not None:
            return holder.user
    return None
