"""The signed acknowledge link sent with each page: it names one page and the one person it was sent to.

The link expires (conf.page_ack_max_age); roles.views.page_ack checks the
signed-in person is that person before page_acknowledge.
"""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.urls import reverse

from roles.models import Page
from roles.services.common import RoleError

ACK_SALT = "roles.page-ack"


def page_ack_token(*, page: Page, user: AbstractBaseUser) -> str:
    """A signed token for one person to acknowledge one page (see page_ack_read)."""
    return signing.TimestampSigner(salt=ACK_SALT).sign_object({"page": page.pk, "user": user.pk})


def page_ack_url(*, page: Page, user: AbstractBaseUser) -> str:
    return reverse("roles:page_ack", kwargs={"token": page_ack_token(page=page, user=user)})


def page_ack_read(token: str) -> tuple[int, int]:
    """(page id, user id) of an acknowledge token; RoleError when it is forged or expired."""
    try:
        data = signing.TimestampSigner(salt=ACK_SALT).unsign_object(
            token, max_age=settings.ROLES_PAGE_ACK_MAX_AGE_SECONDS
        )
    except signing.SignatureExpired:
        raise RoleError(
            "This acknowledge link has expired. Open the incident and acknowledge from there."
        ) from None
    except signing.BadSignature:
        raise RoleError("This acknowledge link is not valid.") from None
    return int(data["page"]), int(data["user"])
