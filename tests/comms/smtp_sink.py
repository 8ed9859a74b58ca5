"""A real local SMTP server (aiosmtpd) that records what it accepts, for the comms tests.

Recipients starting with "bounce" are refused for good (550), "later" for now
(451). A trap can hold the n-th message until the client goes away, to kill a
worker at a known point in the middle of a batch: the held message is not
stored, as a mail server that never finished the DATA exchange does not.
"""

import asyncio
import email
import email.policy
import socket
import threading
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller

PORTS = range(8300, 8400)


def free_port(start: int = 8300) -> int:
    for port in range(start, PORTS.stop):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("No free port in 8300-8399")


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message_id: str
    subject: str
    headers: dict[str, str]
    text: str


@dataclass
class Sink:
    received: list[Received] = field(default_factory=list)
    sessions: int = 0
    trap_at: int | None = None  # hold the message that would be number trap_at + 1
    max_per_session: int | None = None  # like servers that close a session after n messages
    trapped: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        if self.max_per_session is not None and getattr(session, "messages", 0) >= self.max_per_session:
            server.transport.close()
            return "421 4.7.0 Too many messages in this session, closing"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.startswith("bounce"):
            return "550 5.1.1 No such user here"
        if address.startswith("later"):
            return "451 4.3.0 Mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.trap_at is not None and len(self.received) == self.trap_at and not self.trapped.is_set():
            self.trapped.set()
            # aiosmtpd cancels this coroutine when the client's connection is lost.
            await asyncio.sleep(30)
            return "451 4.3.0 Timed out waiting"
        session.messages = getattr(session, "messages", 0) + 1
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.lock:
            self.received.append(
                Received(
                    sender=envelope.mail_from,
                    recipients=list(envelope.rcpt_tos),
                    message_id=parsed.get("Message-ID", ""),
                    subject=parsed.get("Subject", ""),
                    headers={k: str(v) for k, v in parsed.items()},
                    text=_text_part(parsed),
                )
            )
        return "250 Message accepted for delivery"

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        self.sessions += 1
        session.host_name = hostname
        return responses


def _text_part(parsed: email.message.Message) -> str:
    for part in parsed.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    return ""


class SinkServer:
    def __init__(self, sink: Sink | None = None) -> None:
        self.sink = sink or Sink()
        self.port = free_port()
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "SinkServer":
        self.controller.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.controller.stop()
