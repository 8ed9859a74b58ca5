"""Who a Slack user is in Coolhead: linked once, by a one-time code, matched by Slack user id.

The person asks for a code on their Slack page (signed in to Coolhead) and
types `/incident link <code>` in Slack (signed in to Slack): that proves both
accounts belong to one person. Codes are short enough to type, so they live
briefly (SLACK_LINK_CODE_MAX_AGE_SECONDS), work once, and only a keyed hash of
each is stored: a copy of the database holds nothing that links anybody.
"""

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from core.errors import DomainError
from integrations.models import SlackIdentity, SlackLinkCode

logger = logging.getLogger(__name__)

# No 0/O, 1/I/L: read off a screen and typed by hand. 31**8 is about 8.5e11.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


class SlackLinkError(DomainError):
    pass


def _code_hash(code: str) -> str:
    normalised = "".join(code.split()).replace("-", "").upper()
    return salted_hmac("coolhead.slack-link-code", normalised, algorithm="sha256").hexdigest()


def slack_person(*, team_id: str, slack_user_id: str) -> AbstractBaseUser | None:
    """The active person this Slack user is linked to, or None."""
    if not (team_id and slack_user_id):
        return None
    identity = (
        SlackIdentity.objects.filter(team_id=team_id, slack_user_id=slack_user_id, user__is_active=True)
        .select_related("user")
        .first()
    )
    return identity.user if identity is not None else None


@transaction.atomic
def slack_link_code_issue(*, user: AbstractBaseUser) -> str:
    """A new code for this person, shown once; their earlier unused codes stop working."""
    SlackLinkCode.objects.filter(user=user, used_at__isnull=True).delete()
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    now = timezone.now()
    SlackLinkCode.objects.create(
        user=user,
        code_hash=_code_hash(raw),
        created_at=now,
        expires_at=now + timedelta(seconds=settings.SLACK_LINK_CODE_MAX_AGE_SECONDS),
    )
    return f"{raw[:4]}-{raw[4:]}"


@transaction.atomic
def slack_link_claim(*, code: str, team_id: str, slack_user_id: str, slack_user_name: str) -> SlackIdentity:
    """Link the Slack user who typed the code to the person it was shown to. Each code works once."""
    if not (team_id and slack_user_id):
        raise SlackLinkError("Slack did not say who you are (no team or user id).")
    now = timezone.now()
    row = (
        SlackLinkCode.objects.select_for_update(of=("self",))
        .filter(code_hash=_code_hash(code), used_at__isnull=True, expires_at__gt=now, user__is_active=True)
        .select_related("user")
        .first()
    )
    if row is None:
        raise SlackLinkError("That code does not work: it is mistyped, used already or expired.")
    # The row lock makes the claim single: a second request with the same code
    # waits here, then finds it used.
    SlackLinkCode.objects.filter(pk=row.pk).update(used_at=now)
    identity, _ = SlackIdentity.objects.update_or_create(
        team_id=team_id,
        slack_user_id=slack_user_id,
        defaults={"user": row.user, "slack_user_name": slack_user_name[:150], "linked_at": now},
    )
    logger.info("Slack user %s/%s linked to %s", team_id, slack_user_id, row.user.get_username())
    return identity


@transaction.atomic
def slack_unlink(*, identity: SlackIdentity) -> None:
    logger.info(
        "Slack user %s/%s unlinked from %s", identity.team_id, identity.slack_user_id, identity.user_id
    )
    identity.delete()
