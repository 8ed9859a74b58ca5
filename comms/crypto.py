"""Secrets the portal must use again, kept encrypted at rest: contact methods' apprise URLs.

An apprise URL is often a credential in itself (a Pushover token, a Telegram
bot token, a password for a self-hosted ntfy). The database holds it only as a
Fernet token (AES-128-CBC with an HMAC-SHA256 tag). The key is derived from
SECRET_KEY with HKDF, under a purpose of its own, so no other use of
SECRET_KEY (sessions, signed links) ever meets the same key. Rotating
SECRET_KEY keeps stored URLs readable while the old key is listed in
SECRET_KEY_FALLBACKS (each fallback gives a decryption key); what is saved
again is encrypted with the new key.
"""

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_PURPOSE = b"coolhead.comms.contact-method-url.v1"


class UnreadableSecret(Exception):
    """The stored token does not decrypt with any key derived from the settings."""


@functools.cache
def _fernet_key(secret_key: str) -> bytes:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(secret_key.encode())
    return base64.urlsafe_b64encode(key)


def _fernet() -> MultiFernet:
    # Read on each call: tests and key rotations change the settings at run time.
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return MultiFernet([Fernet(_fernet_key(key)) for key in keys])


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError, ValueError):
        raise UnreadableSecret(
            "The stored URL cannot be decrypted with the current SECRET_KEY (or its fallbacks)."
        ) from None
