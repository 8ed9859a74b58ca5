"""Apprise URLs: which the portal accepts as a contact method, and what of one may be shown.

apprise (https://github.com/caronc/apprise) reaches ntfy, Pushover, Telegram,
Slack, Microsoft Teams, Discord, Matrix, Mattermost, Twilio SMS and many more
through one URL syntax; comms/transports.py sends with it. Here:

- only the schemes in settings.COMMS_APPRISE_SCHEMES are accepted: services
  reached over HTTP(S), not apprise's desktop, syslog or e-mail plugins (e-mail
  is built in, through the outbox's own SMTP transport);
- the server a URL names (ntfys://ntfy.example.com/topic, json://host/path) is
  held to the outbound address rule of comms/addresses.py at once, and every
  connection apprise makes is checked again when it is sent;
- a URL is never shown back: `hint` is what displays may show (the service,
  the scheme and the server for self-hosted ones), never a user name,
  password, token, topic or path.
"""

import functools
from dataclasses import dataclass

import apprise
from django.conf import settings

from comms import addresses

MAX_URL_LENGTH = 2000


class AppriseUrlRefused(Exception):
    """The URL is not one the portal sends to; the message is safe to show (it never quotes the URL)."""


@dataclass(frozen=True)
class AppriseTarget:
    service: str  # apprise's name for it: "ntfy", "Pushover", "Telegram"
    scheme: str
    host: str  # the server the URL names; "" when the service's URL holds only tokens (pover://)
    # The longest text the service takes in one message (apprise's body_maxlen: 500 on
    # Mastodon, 300 on Bluesky, 280 for a post on X); 0 when apprise does not say.
    body_limit: int = 0

    @property
    def hint(self) -> str:
        return f"{self.scheme}://{self.host}/…" if self.host else f"{self.scheme}://…"


@functools.cache
def asset() -> apprise.AppriseAsset:
    # Nothing on disk (apprise's persistent store), no redirects followed (a
    # redirect could lead anywhere; the transport's address check would stop an
    # internal one, but a receiver that moved should be fixed in the URL).
    return apprise.AppriseAsset(storage_mode="memory", http_redirects=False, secure_logging=True)


def _scheme(url: str) -> str:
    scheme, separator, _rest = url.partition("://")
    return scheme.lower() if separator else ""


def parse(url: str, *, schemes: list[str] | None = None, what: str = "contact method"):
    """apprise's plugin object for the URL, or AppriseUrlRefused saying why not.

    `schemes`: the kinds of URL accepted (default: COMMS_APPRISE_SCHEMES, people's contact
    methods; the company's own accounts use COMMS_APPRISE_CHANNEL_SCHEMES).
    apprise logs what it cannot parse, URL included: its logger writes nowhere
    (config/settings.py LOGGING), and the reason given here never quotes it.
    """
    if not isinstance(url, str) or not url.strip():
        raise AppriseUrlRefused("Enter an apprise URL, such as ntfys://ntfy.example.com/your-topic.")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise AppriseUrlRefused(f"An apprise URL may be at most {MAX_URL_LENGTH:,} characters.")
    if any(not c.isprintable() or c.isspace() for c in url):
        raise AppriseUrlRefused("An apprise URL is one line without spaces.")
    scheme = _scheme(url)
    allowed = settings.COMMS_APPRISE_SCHEMES if schemes is None else schemes
    if scheme not in allowed:
        shown = f"“{scheme}://”" if scheme.isalnum() and len(scheme) <= 20 else "This kind of URL"
        raise AppriseUrlRefused(
            f"{shown} is not a kind of {what} this portal sends to. Accepted: "
            + ", ".join(f"{s}://" for s in allowed)
            + "."
        )
    plugin = apprise.Apprise.instantiate(url, asset=asset(), suppress_exceptions=True)
    if plugin is None:
        raise AppriseUrlRefused(
            f"apprise does not understand this {scheme}:// URL: check it against the service's page "
            "in the apprise documentation."
        )
    return plugin


def describe_plugin(plugin, scheme: str) -> AppriseTarget:
    # A URL whose template names {host} points at a server (self-hosted ntfy,
    # json://); the others hold tokens where a host would be (pover://user@token).
    names_host = any("{host}" in template for template in getattr(plugin, "templates", ()))
    host = str(plugin.host or "") if names_host else ""
    try:
        body_limit = max(int(getattr(plugin, "body_maxlen", 0) or 0), 0)
    except (TypeError, ValueError):
        body_limit = 0
    return AppriseTarget(
        service=str(plugin.service_name or scheme), scheme=scheme, host=host, body_limit=body_limit
    )


def describe(url: str, *, schemes: list[str] | None = None, what: str = "contact method") -> AppriseTarget:
    """Check an apprise URL as far as that goes without sending, and what may be shown of it.

    Raises AppriseUrlRefused: a scheme that is not accepted, a URL apprise does
    not understand, or a server that is not public (unless it is listed in
    OUTBOUND_ALLOWED_HOSTS).
    """
    target = describe_plugin(parse(url, schemes=schemes, what=what), _scheme(url.strip()))
    if target.host:
        refusal = addresses.host_refusal(target.host)
        if refusal is not None:
            raise AppriseUrlRefused(refusal)
    return target
