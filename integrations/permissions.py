"""Who may configure the integrations, written once: admins."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from incidents.permissions import is_admin

Person = AbstractBaseUser | AnonymousUser


def may_manage_integrations(user: Person) -> bool:
    """Outgoing webhook subscriptions and a service's alert settings (with its integration key)."""
    return is_admin(user)
