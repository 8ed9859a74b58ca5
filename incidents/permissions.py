"""Who may do what with an incident, written once.

Views, templates, the API and chat commands ask here; the services check the
same functions under the incident's lock. The rule for restricted (security)
incidents as a query is incidents.selectors.incidents_visible_to(), built on
is_admin() and takes_part() below.
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from incidents import hooks
from incidents.models import Incident, Participation, TimelineEntry

Person = AbstractBaseUser | AnonymousUser


def is_active(user: Person | None) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def is_admin(user: Person | None) -> bool:
    """Admins (staff) see every incident, restricted ones included, and may correct any entry."""
    return is_active(user) and bool(user.is_staff or user.is_superuser)


def takes_part(user: Person, incident: Incident) -> bool:
    return is_active(user) and Participation.objects.filter(incident=incident, user=user).exists()


def may_see_incident(user: Person, incident: Incident) -> bool:
    """Everyone signed in sees an ordinary incident; a restricted one only its participants and admins."""
    if not is_active(user):
        return False
    return not incident.is_security or is_admin(user) or takes_part(user, incident)


def may_edit_entry(user: Person, entry: TimelineEntry) -> bool:
    """Edit or strike an entry: its author, or an admin correcting the record."""
    return is_active(user) and (entry.author_id == user.pk or is_admin(user))


def may_work(user: Person, incident: Incident) -> bool:
    """The response tools anyone working the incident uses ("anyone is free to join"): raise a
    hypothesis and confirm or rule it out with evidence, record a change and restore one,
    record a verification. Whoever may see the incident; the service makes them a participant.
    """
    return may_see_incident(user, incident)


def may_decide(user: Person, incident: Incident, holders: list | None = None) -> bool:
    """Status, severity, resolve and decline, the repair decision: recording one, closing it
    done or abandoned, answering the rollback question, keeping a change in place as the new
    normal (what resolving a major incident asks).

    While an Incident Commander is assigned: the IC's, the deputy's and admins'.
    With none: anyone who may see the incident (the room says so: page an IC).
    Everyone else proposes. Who holds which role is the roles app's to say
    (registered in incidents/hooks.py); `holders` spares a read when the caller has them.
    """
    if not may_see_incident(user, incident):
        return False
    return is_admin(user) or hooks.decides(user, incident, holders)
