"""Personal API tokens: issued once, stored as a SHA-256, revocable, with their last use."""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from accounts import permissions
from accounts.models import API_TOKEN_PREFIX, ApiToken
from core.errors import DomainError


class AccountError(DomainError):
    """A token change the rules do not allow; the message is meant for a person."""

# Writing last_used_at on every call would make each API call a write; once a
# minute is precise enough for "last used".
LAST_USED_PRECISION = timedelta(seconds=60)
MAX_TOKENS_PER_USER = 50


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def api_token_issue(
    *, user: AbstractBaseUser, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token for the user: the row, and the token itself (shown once, never stored)."""
    name = " ".join((name or "").split())
    if not name:
        raise AccountError("Give the token a name that says what it is for.")
    if len(name) > 100:
        raise AccountError("A token name is at most 100 characters.")
    if not user.is_active:
        raise AccountError(f"{user.get_username()} is not an active user.")
    if expires_at is not None and expires_at <= timezone.now():
        raise AccountError("A token cannot expire in the past.")
    if ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() >= MAX_TOKENS_PER_USER:
        raise AccountError(f"At most {MAX_TOKENS_PER_USER} tokens per person: revoke one you no longer use.")
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(
        user=user, name=name, prefix=token[:10], token_hash=hash_token(token), expires_at=expires_at
    )
    return row, token


@transaction.atomic
def api_token_revoke(*, token: ApiToken, by: AbstractBaseUser) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if not permissions.may_revoke_token(by, token):
        raise AccountError("You can revoke only your own tokens.")
    if token.revoked_at is not None:
        raise AccountError("The token is revoked already.")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    return token


def api_token_authenticate(raw: str) -> ApiToken | None:
    """The usable token row for this secret (with its user), or None. Records the use."""
    if not raw.startswith(API_TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = ApiToken.objects.select_related("user").filter(token_hash=hash_token(raw)).first()
    now = timezone.now()
    if token is None or not token.is_usable(now) or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
