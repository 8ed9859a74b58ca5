"""Who may do what with API tokens, written once."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from accounts.models import ApiToken

Person = AbstractBaseUser | AnonymousUser


def may_revoke_token(user: Person, token: ApiToken) -> bool:
    """Its owner; a superuser may revoke anyone's (a leaked token, a person who left)."""
    if not (user.is_authenticated and user.is_active):
        return False
    return token.user_id == user.pk or user.is_superuser
