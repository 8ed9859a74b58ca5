"""The only code in the portal that sends e-mail or makes an outbound HTTP request.

Every sender raises SendError, which says whether trying again can help:
network errors, timeouts, 5xx, 429 and SMTP 4xx are transient; other 4xx,
SMTP 5xx and invalid addresses are permanent.

Webhooks go only where comms.addresses allows: the URL's host is resolved
once, every address it resolves to is checked, and the connection is made to
a checked address (never resolved again), with the Host header and the TLS
certificate check for the name. Redirects are not followed.

Signed webhooks (channel kind "webhook") carry three headers:

    X-Coolhead-Delivery:  the delivery's idempotency key (the same on every retry)
    X-Coolhead-Timestamp: Unix time in seconds when the request was signed
    X-Coolhead-Signature: "v1=" + hex(HMAC-SHA256(secret, "v1:" + timestamp + ":" + raw body))

A receiver verifies it like this (compare in constant time, reject old timestamps):

    expected = "v1=" + hmac.new(secret.encode(), f"v1:{timestamp}:".encode() + raw_body,
                                hashlib.sha256).hexdigest()
    ok = hmac.compare_digest(expected, signature) and abs(time.time() - int(timestamp)) < 300
"""

import functools
import hashlib
import hmac
import http
import http.client
import json
import logging
import re
import smtplib
import socket
import ssl
import threading
import time
from contextlib import contextmanager
from email import policy as email_policy

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.serializers.json import DjangoJSONEncoder

from comms import addresses, apprise_urls, crypto
from comms.models import Channel, Delivery

USER_AGENT = "Coolhead-Webhook/1"
SIGNATURE_VERSION = "v1"
# Enough of a receiver's answer to explain a failure; the rest is not read.
MAX_RESPONSE_BYTES = 2000
# Of which this many characters are kept in the outbox (Delivery.last_error).
MAX_ERROR_DETAIL_CHARS = 200


# What an attachment in a message's context needs (build_email).
ATTACHMENT_KEYS = ("filename", "content_type", "content")

# Placeholders in the one copy of an e-mail built per batch (see EmailSession._raw_copy).
_ADDRESS_STAND_IN = "recipient-3f9c1a@stand-in.invalid"
_KEY_STAND_IN = "k" * 32


class SendError(Exception):
    def __init__(self, text: str, *, permanent: bool, connection_lost: bool = False) -> None:
        super().__init__(text)
        self.permanent = permanent
        self.connection_lost = connection_lost


# --- E-mail ------------------------------------------------------------------------


def _message_id(delivery: Delivery) -> str:
    # The same on every attempt: a receiver (or a test) can recognise a repeat.
    domain = settings.COMMS_MESSAGE_ID_DOMAIN
    return f"<{delivery.idempotency_key}@{domain}>"


def build_email(
    delivery: Delivery, rendered: dict[int, tuple[str, str]] | None = None
) -> EmailMultiAlternatives:
    message = delivery.message
    if rendered is None:
        rendered = {}
    if message.pk not in rendered:
        # Markdown once per message per batch, not once per recipient.
        rendered[message.pk] = (message.body_text, message.body_html)
    text, html = rendered[message.pk]
    headers = {"Message-ID": _message_id(delivery), "X-Coolhead-Delivery": delivery.idempotency_key}
    headers.update(message.headers or {})
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.address],
        headers=headers,
    )
    email.attach_alternative(html, "text/html")
    # Files the caller put in the context (a review meeting's calendar file):
    # [{"filename", "content_type", "content"}], text only.
    for attachment in (message.context or {}).get("attachments") or []:
        if isinstance(attachment, dict) and all(isinstance(attachment.get(k), str) for k in ATTACHMENT_KEYS):
            email.attach(attachment["filename"], attachment["content"], attachment["content_type"])
    return email


class EmailSession:
    """One connection to the mail server for a whole batch of deliveries."""

    def __init__(self) -> None:
        self.connection = mailers.default
        self._open = False
        self._sent_on_connection = 0
        self._rendered: dict[int, tuple[str, str]] = {}
        self._templates: dict[int, bytes] = {}

    def __enter__(self) -> "EmailSession":
        return self

    def __exit__(self, *exc_info) -> None:
        self.reset()

    def reset(self) -> None:
        if self._open:
            try:
                self.connection.close()
            except Exception:  # noqa: BLE001 - closing a broken session is best effort
                pass
            self._open = False
        self._sent_on_connection = 0

    def _raw_copy(self, delivery: Delivery) -> bytes | None:
        """The wire bytes for this recipient, from one rendering of the message per batch.

        Building a MIME message costs more than sending it; for a plain ASCII
        address on the SMTP backend, one copy is built per message with
        placeholders and each recipient's copy differs only in To and the
        delivery key. Anything else (other backends, non-ASCII addresses) is
        built in full by Django.
        """
        if not isinstance(self.connection, SMTPBackend) or not delivery.address.isascii():
            return None
        message = delivery.message
        template = self._templates.get(message.pk)
        if template is None:
            stand_in = Delivery(message=message, address=_ADDRESS_STAND_IN, idempotency_key=_KEY_STAND_IN)
            email = build_email(stand_in, self._rendered)
            template = email.message(policy=email_policy.SMTP).as_bytes()
            if template.count(_KEY_STAND_IN.encode()) != 2 or template.count(_ADDRESS_STAND_IN.encode()) != 1:
                template = b""  # the stand-ins are not where we expect: build each copy in full
            self._templates[message.pk] = template
        if not template:
            return None
        return template.replace(_ADDRESS_STAND_IN.encode(), delivery.address.encode()).replace(
            _KEY_STAND_IN.encode(), delivery.idempotency_key.encode()
        )

    def send(self, delivery: Delivery) -> None:
        try:
            self._send_once(delivery)
        except SendError as error:
            if not (error.connection_lost and self._sent_on_connection):
                raise
            # Mail servers close long sessions (a message limit, an idle timeout):
            # the first failure on a reused connection gets one fresh connection.
            self.reset()
            self._send_once(delivery)
        self._sent_on_connection += 1

    def _send_once(self, delivery: Delivery) -> None:
        try:
            raw = self._raw_copy(delivery)
            email = build_email(delivery, self._rendered) if raw is None else None
        except ValueError as error:
            raise SendError(f"Invalid message: {error}", permanent=True) from error
        try:
            if not self._open:
                self.connection.open()
                self._open = True
            if raw is not None:
                sender = self.connection.prep_address(settings.DEFAULT_FROM_EMAIL)
                self.connection.connection.sendmail(sender, [delivery.address], raw)
                sent = 1
            else:
                sent = self.connection.send_messages([email])
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _text in error.recipients.values()]
            detail = "; ".join(f"{code} {text!r}" for code, text in error.recipients.values())
            raise SendError(
                f"Recipient refused: {detail}",
                permanent=all(500 <= c < 600 for c in codes),
                connection_lost=421 in codes,
            ) from error
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            raise SendError(
                f"Mail server answered {error.smtp_code} {error.smtp_error!r}",
                permanent=500 <= error.smtp_code < 600,
                # 421: the server is closing this session (smtplib has closed it too).
                connection_lost=error.smtp_code == 421,
            ) from error
        except smtplib.SMTPResponseException as error:
            raise SendError(
                f"Mail server answered {error.smtp_code} {error.smtp_error!r}",
                permanent=False,
                connection_lost=True,
            ) from error
        except ValueError as error:  # an address or header Django cannot encode
            raise SendError(f"Invalid message: {error}", permanent=True) from error
        except (smtplib.SMTPException, OSError) as error:
            # Refused connection, timeout, dropped session: the server may be back soon.
            raise SendError(
                f"Mail server unreachable: {error}", permanent=False, connection_lost=True
            ) from error
        if sent != 1:
            raise SendError("The mail backend did not accept the message", permanent=False)


# --- Webhooks and in-app ---------------------------------------------------------------


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to one checked address, whatever the name resolves to by now.

    Resolving again at connect time would let a name that was public when
    checked answer 127.0.0.1 a moment later (DNS rebinding). The request still
    names the host (the Host header) as the receiver expects.
    """

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to one checked address; SNI and certificate verification are for the host name."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=tls_context())
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        try:
            self.sock = tls_context().wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


@functools.cache
def tls_context() -> ssl.SSLContext:
    """Certificates verified against the system's CAs and the URL's host name."""
    return ssl.create_default_context()


def _connect(target: addresses.Target, timeout: float) -> http.client.HTTPConnection:
    """An open connection to the first of the target's checked addresses that answers."""
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    error: OSError | None = None
    for address in target.addresses:
        connection = connection_class(target.host, target.port, address=address, timeout=timeout)
        try:
            connection.connect()
        except TimeoutError:
            connection.close()
            raise  # the next address would make the receiver's timeout longer than promised
        except OSError as failure:
            connection.close()
            error = failure
            continue
        return connection
    raise error or OSError("no address to connect to")


def _one_line(text: str, limit: int) -> str:
    """A receiver's text as stored: one line of printable characters, cut at `limit`."""
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sign(*, secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{SIGNATURE_VERSION}:{timestamp}:".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def _incident_payload(delivery: Delivery) -> dict | None:
    incident = delivery.message.incident
    if incident is None:
        return None
    return {
        "number": incident.number,
        "reference": incident.reference,
        # A restricted (security) incident's title never travels in the envelope: the
        # message's own words were cut to "a restricted incident needs you" by its
        # sender, and a receiver allowed more (an outgoing webhook marked for
        # restricted incidents) gets the incident from the context its sender wrote.
        "title": "" if incident.is_security else incident.title,
        "severity": incident.severity,
        "severity_label": incident.severity_label,
        "status": incident.status,
        "url": settings.SITE_URL + incident.get_absolute_url(),
    }


def webhook_payload(delivery: Delivery) -> dict:
    """The JSON body of a signed webhook: the message's context at the top level.

    A caller that speaks a known format (the status page's Statuspage-style
    `meta`/`page`/`incident`, the incident events' `event`/`incident`/`entry`)
    puts it in `context` and receivers get exactly those keys; the envelope
    fields below fill in only what the context does not set.
    """
    message = delivery.message
    envelope = {
        "id": delivery.idempotency_key,
        "message_id": message.pk,
        "kind": message.kind,
        "subject": message.subject,
        "body": message.body,
        "body_text": message.body_text,
        "incident": _incident_payload(delivery),
        "created_at": message.created_at.isoformat(),
    }
    return envelope | (message.context or {})


def slack_payload(delivery: Delivery) -> dict:
    """A Slack-style incoming webhook body: `text` for notifications, `blocks` for the layout."""
    message = delivery.message
    text = message.body_text
    # Slack's mrkdwn is not Markdown: send plain text inside a section, trimmed
    # below the 3,000-character limit of a section block.
    section = text if len(text) <= 2900 else text[:2899] + "…"
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.subject[:150]}},
    ]
    if section:
        blocks.append({"type": "section", "text": {"type": "plain_text", "text": section}})
    incident = _incident_payload(delivery)
    if incident is not None:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"<{incident['url']}|{incident['reference']}> · {incident['severity_label']}"
                        f" · {incident['status']}",
                    }
                ],
            }
        )
    return {"text": f"{message.subject}\n{text}".strip(), "blocks": blocks}


def _post_json(delivery: Delivery, payload: dict, *, secret: str = "") -> None:
    body = json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Coolhead-Delivery": delivery.idempotency_key,
    }
    if secret:
        timestamp = str(int(time.time()))
        headers["X-Coolhead-Timestamp"] = timestamp
        headers["X-Coolhead-Signature"] = sign(secret=secret, timestamp=timestamp, body=body)
    timeout = delivery.channel.timeout_seconds
    try:
        target = addresses.resolve(delivery.address)
    except addresses.AddressRefused as error:
        # Checked before any connection: nothing was sent, and nothing of the
        # inside of the network (not even the address a name resolves to) is told.
        raise SendError(f"Refused: {error}", permanent=True) from None
    except addresses.AddressUnresolved as error:
        raise SendError(str(error), permanent=False) from None
    try:
        connection = _connect(target, timeout)
        try:
            connection.request("POST", target.path, body=body, headers=headers)
            response = connection.getresponse()
            status, reason = response.status, response.reason
            answer = response.read(MAX_RESPONSE_BYTES)
        finally:
            connection.close()
    except TimeoutError as error:
        raise SendError(f"No answer within {timeout} s", permanent=False) from error
    except OSError as error:  # refused, reset, unreachable, a certificate that does not verify
        raise SendError(f"Could not reach the receiver: {error}", permanent=False) from error
    except (http.client.InvalidURL, ValueError) as error:  # a URL http.client will not send
        raise SendError(f"Invalid webhook URL: {error}", permanent=True) from error
    except http.client.HTTPException as error:  # an answer that is not HTTP
        raise SendError(f"Could not reach the receiver: {error!r}", permanent=False) from error
    if 200 <= status < 300:
        return
    summary = f"HTTP {status} {_one_line(reason or '', 60)}".strip()
    if 300 <= status < 400:
        # Not followed: a redirect could lead anywhere, an internal address
        # included, and re-posting a signed body elsewhere is not what the
        # receiver's owner set up. The channel's URL needs fixing.
        raise SendError(f"{summary}: redirects are not followed; set the final URL", permanent=True)
    # A few words of the receiver's answer explain a failure; more would turn
    # the outbox into a reader of whatever the receiver returns.
    detail = _one_line(answer.decode("utf-8", "replace"), MAX_ERROR_DETAIL_CHARS)
    transient = status >= 500 or status in (408, 425, 429) or status < 200
    raise SendError(f"{summary}: {detail}" if detail else summary, permanent=not transient)


# --- Contact methods (apprise) ---------------------------------------------------------------------
#
# apprise resolves and connects through requests itself. Every name it looks up
# while sending, in this thread, is checked by the outbound address rule
# (comms.addresses.check_resolved) inside socket.getaddrinfo, and what it
# connects to is exactly what passed the check: the same guarantee as
# _PinnedHTTPConnection gives webhooks, including hosts reached by a redirect
# (apprise is told not to follow them) and the fixed API hosts of hosted
# services (api.telegram.org). A proxy from the environment is a host like any
# other: refused unless public or listed in OUTBOUND_ALLOWED_HOSTS.
#
# apprise's own log lines quote URLs, topics and tokens: its logger writes
# nowhere (config/settings.py LOGGING). The outcome is read from the lines of
# this thread's send, and the outbox gets only a status code or a fixed phrase.

_apprise_guard = threading.local()


def _guarded_getaddrinfo(real):
    def getaddrinfo(host, port, *args, **kwargs):
        found = real(host, port, *args, **kwargs)
        if not getattr(_apprise_guard, "active", False):
            return found
        name = host.decode() if isinstance(host, bytes) else str(host)
        try:
            addresses.check_resolved(name, [sockaddr[0] for *_rest, sockaddr in found])
        except addresses.AddressRefused as error:
            _apprise_guard.refusal = str(error)
            # What a resolver says of a name that does not exist: nothing is connected.
            raise socket.gaierror(socket.EAI_NONAME, "refused by the outbound address rule") from None
        return found

    getaddrinfo.coolhead_guard = True
    return getaddrinfo


@contextmanager
def _checked_lookups():
    """Every lookup of this thread inside the block passes the outbound address rule, or fails."""
    if not getattr(socket.getaddrinfo, "coolhead_guard", False):
        # Installed once per process (again if something replaced it since):
        # other threads pass through untouched.
        socket.getaddrinfo = _guarded_getaddrinfo(socket.getaddrinfo)
    _apprise_guard.active, _apprise_guard.refusal = True, None
    try:
        yield _apprise_guard
    finally:
        _apprise_guard.active = False


class _ThreadRecords(logging.Handler):
    """apprise's records from this thread only (a threaded worker sends several at once)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.thread = threading.get_ident()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            try:
                self.lines.append(record.getMessage())
            except Exception:  # noqa: BLE001 - a malformed record says nothing we need
                pass


_APPRISE_STATUS = re.compile(r"error=(\d{3})\b")
_APPRISE_CONNECTION = re.compile(r"connection error|socket|timed? ?out|i/o error", re.IGNORECASE)


def _apprise_failure(service: str, lines: list[str], refusal: str | None) -> SendError:
    """What went wrong, in words that never quote the URL (no line of apprise's is kept)."""
    if refusal:
        return SendError(f"Refused: {refusal}", permanent=True)
    statuses = [int(m.group(1)) for line in lines for m in [_APPRISE_STATUS.search(line)] if m]
    if statuses:
        status = statuses[-1]
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        transient = status >= 500 or status in (408, 425, 429)
        return SendError(f"{service} answered HTTP {status} {phrase}".strip(), permanent=not transient)
    if any(_APPRISE_CONNECTION.search(line) for line in lines):
        return SendError(f"Could not reach {service}", permanent=False)
    return SendError(f"{service} did not accept the notification", permanent=False)


def send_apprise(delivery: Delivery) -> None:
    """Send one delivery through apprise: to a person's contact method, or to the account of the
    company's own that its channel holds (a social network). The URL is decrypted only here."""
    method = delivery.contact_method
    channel = delivery.channel
    if method is not None:
        encrypted, hint, service, owner = method.url_encrypted, method.hint, method.service, "Its owner"
        schemes = settings.COMMS_APPRISE_SCHEMES
    elif channel.has_apprise_url:
        encrypted, hint, service, owner = (
            channel.apprise_url_encrypted,
            channel.apprise_hint,
            channel.apprise_service,
            "An admin",
        )
        schemes = settings.COMMS_APPRISE_CHANNEL_SCHEMES
    else:
        raise SendError("The contact method was removed before this could be sent", permanent=True)
    try:
        url = crypto.decrypt(encrypted)
    except crypto.UnreadableSecret as error:
        raise SendError(f"{error} {owner} enters the URL again.", permanent=True) from None
    try:
        plugin = apprise_urls.parse(url, schemes=schemes)
        target = apprise_urls.describe_plugin(plugin, hint.partition("://")[0])
        if target.host:
            refusal = addresses.host_refusal(target.host)
            if refusal is not None:
                raise apprise_urls.AppriseUrlRefused(refusal)
    except apprise_urls.AppriseUrlRefused as error:
        raise SendError(f"Refused: {error}", permanent=True) from None
    message = delivery.message
    # A post written for a network (context body_format "text") goes as written, measured
    # to the network's limit by its writer; any other body is Markdown, sent as plain text.
    as_written = (message.context or {}).get("body_format") == "text"
    body = message.body if as_written else (message.body_text or message.subject)
    # A service without titles (Mastodon, X, Bluesky: title_maxlen 0) would put the subject
    # in front of a post that was measured to fit without it.
    title = "" if as_written and not getattr(plugin, "title_maxlen", 1) else message.subject
    records = _ThreadRecords()
    apprise_logger = logging.getLogger("apprise")
    apprise_logger.addHandler(records)
    try:
        with _checked_lookups() as guard:
            try:
                sent = plugin.notify(body=body, title=title)
            except Exception as error:  # noqa: BLE001 - a plugin's bug fails this delivery, not the batch
                raise SendError(
                    f"The {service} plugin of apprise failed ({type(error).__name__})", permanent=False
                ) from None
            refusal = guard.refusal
    finally:
        apprise_logger.removeHandler(records)
    if not sent:
        raise _apprise_failure(service or "The service", records.lines, refusal)


def send_other(delivery: Delivery) -> None:
    """Send one non-e-mail delivery."""
    kind = delivery.channel.kind
    if kind == Channel.Kind.SLACK:
        _post_json(delivery, slack_payload(delivery))
    elif kind == Channel.Kind.WEBHOOK:
        if not delivery.channel.secret:
            raise SendError("The signed webhook channel has no secret", permanent=True)
        _post_json(delivery, webhook_payload(delivery), secret=delivery.channel.secret)
    elif kind == Channel.Kind.APPRISE:
        send_apprise(delivery)
    elif kind == Channel.Kind.IN_APP:
        return  # the row is the notification: nothing leaves the portal
    else:
        raise SendError(f"No sender for channel kind {kind!r}", permanent=True)
