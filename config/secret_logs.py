"""Links that act for one person never reach a log.

A path such as /pages/ack/<token>/ or /status/unsubscribe/<token>/ is the
secret itself: whoever reads it acknowledges a page, confirms or ends a
subscription, or resets a password. Django logs the path of every 4xx answer
(django.request) and, in development, of every request (django.server);
gunicorn's access log writes the request line and the Referer. Each of them
goes through mask_secret_links() here: the console handler and django.server
through SecretLinkFilter (config/settings.py LOGGING), gunicorn through
AccessLogger (gunicorn.conf.py).
"""

import logging
import re

from gunicorn.glogging import Logger as GunicornLogger

# The routes whose last path segment is a secret: a page's acknowledge link
# (roles), a subscriber's confirm and unsubscribe links (statuspage), and
# allauth's password reset and e-mail confirmation keys, and on-call calendar feeds (roles).
SECRET_PATH = re.compile(
    r"(/(?:pages/ack|subscribe/confirm|unsubscribe|password/reset/key|confirm-email|oncall/feeds)/)"
    r"[^/\s\"'?#]+"
)
MASK = "[secret]"


def mask_secret_links(text: str) -> str:
    return SECRET_PATH.sub(rf"\g<1>{MASK}", text)


class SecretLinkFilter(logging.Filter):
    """Rewrites a record whose message holds a secret link (it never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logging's to report, not ours
            return True
        masked = mask_secret_links(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


class AccessLogger(GunicornLogger):
    """Gunicorn's logger, with secret links masked in every access log field (request line, path, Referer)."""

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: mask_secret_links(value) if isinstance(value, str) else value for key, value in atoms.items()
        }
