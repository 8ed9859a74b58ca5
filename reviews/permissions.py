"""Who may do what with reviews and follow-ups, written once.

Seeing a review or a follow-up is seeing its incident (incidents.permissions, and
incidents.selectors.incidents_visible_to as a query): a restricted incident's
review, follow-ups and counts exist only for its participants and admins.
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from incidents.models import Incident
from incidents.permissions import is_active, is_admin, may_see_incident, takes_part
from reviews.models import Review

Person = AbstractBaseUser | AnonymousUser


def may_see(user: Person, incident: Incident) -> bool:
    return may_see_incident(user, incident)


def may_start_review(user: Person, incident: Incident) -> bool:
    """Anyone who sees a closed incident may ask for its review (the automatic ones are SEV-1/2)."""
    return may_see(user, incident)


def is_owner(user: Person, review: Review) -> bool:
    return is_active(user) and review.owner_id == user.pk


def may_write(user: Person, review: Review) -> bool:
    """The written sections and contributing factors: the owner, the incident's participants, admins."""
    return is_active(user) and (is_owner(user, review) or is_admin(user) or takes_part(user, review.incident))


def may_steer(user: Person, review: Review) -> bool:
    """Owner, due date, pins, the meeting, the state (in review, published): the owner or an admin."""
    return is_owner(user, review) or is_admin(user)


def may_amend(user: Person, review: Review) -> bool:
    return may_write(user, review)


def may_change_follow_up(user: Person, incident: Incident) -> bool:
    """Follow-ups are a shared list: whoever sees the incident may add to it and move them on."""
    return may_see(user, incident)
