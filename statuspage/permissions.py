"""Who may change what the public sees, written once.

Used by the publish page, the API, the services (under the incident's lock) and
the room's status-page card.
"""

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from incidents.models import Incident
from incidents.permissions import is_active, is_admin
from roles.models import IncidentRole, RoleAssignment
from roles.permissions import holders_of

Person = AbstractBaseUser | AnonymousUser

# The seeds: the customer liaison updates the status page; the IC and the deputy decide it too.
PUBLISHER_ROLES = (IncidentRole.CUSTOMER_LIAISON, IncidentRole.INCIDENT_COMMANDER, IncidentRole.DEPUTY)


def may_publish_update(user: Person, holders: Sequence[RoleAssignment]) -> bool:
    """The customer liaison, the IC or the deputy, or an admin.

    Unlike status and severity, not "anyone while nobody commands": what customers
    read needs someone in a role (take the liaison role while no IC is assigned).
    """
    if not is_active(user):
        return False
    return is_admin(user) or any(a.user_id == user.pk and a.role in PUBLISHER_ROLES for a in holders)


def may_publish_for(user: Person, incident: Incident) -> bool:
    """may_publish_update() reading the incident's holders; the caller has checked it can see it."""
    return is_active(user) and (is_admin(user) or may_publish_update(user, holders_of(incident)))


def may_set_component_status(user: Person) -> bool:
    """By hand, outside a public update: admins only (liaisons set statuses in their updates)."""
    return is_admin(user)
