"""Test doubles for the outbound address rule: a resolver that answers chosen names, a record of
every connection the transports open, and a real HTTP receiver on 127.0.0.1."""

import ipaddress
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeDNS:
    """socket.getaddrinfo answering chosen names; any other name goes to the real resolver.

    Patched where the delivery path resolves (socket.getaddrinfo), so the code
    under test resolves exactly as it does in production.
    """

    def __init__(self, monkeypatch) -> None:
        self.answers: dict[str, list[tuple[str, ...]]] = {}
        self.lookups: list[str] = []
        real = socket.getaddrinfo

        def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002
            name = host.decode() if isinstance(host, bytes) else host
            if name not in self.answers:
                return real(host, port, family, type, proto, flags)
            self.lookups.append(name)
            turns = self.answers[name]
            addresses = turns.pop(0) if len(turns) > 1 else turns[0]
            port = int(port or 0)
            return [
                (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, port, 0, 0))
                if ":" in a
                else (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, port))
                for a in addresses
            ]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    def answer(self, name: str, *addresses: str) -> None:
        """`name` resolves to these addresses, every time."""
        self.answers[name] = [addresses]

    def answer_in_turn(self, name: str, *turns: tuple[str, ...]) -> None:
        """The first lookup gets the first answer, the second the second...; the last repeats."""
        self.answers[name] = list(turns)


class Connections:
    """Records every socket.create_connection; never leaves the machine.

    Loopback addresses and names are connected for real (a name through the
    resolver, patched or not): if the code under test connected to a name
    instead of the address it checked, a rebinding resolver would take it to
    127.0.0.1 here. Any other address is refused as if nothing listened there.
    """

    def __init__(self, monkeypatch) -> None:
        self.attempts: list[tuple[str, int]] = []
        real = socket.create_connection

        def create_connection(address, *args, **kwargs):
            host, port = address[0], address[1]
            self.attempts.append((host, port))
            try:
                literal = ipaddress.ip_address(host)
            except ValueError:
                literal = None
            if literal is not None and not literal.is_loopback:
                raise ConnectionRefusedError(111, "Connection refused (test: no outside network)")
            return real(address, *args, **kwargs)

        monkeypatch.setattr(socket, "create_connection", create_connection)


class Receiver:
    """A real HTTP receiver on 127.0.0.1 (a free port): records requests, answers as planned."""

    def __init__(self, *, status: int = 200, headers: dict[str, str] | None = None, body: bytes = b"ok",
                 tls: ssl.SSLContext | None = None) -> None:  # fmt: skip
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.status, self.headers, self.body = status, headers or {}, body
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append((self.path, dict(self.headers), raw))
                self.send_response(receiver.status)
                for name, value in receiver.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(receiver.body)))
                self.end_headers()
                self.wfile.write(receiver.body)

            do_GET = do_POST  # noqa: N815 - a followed redirect would arrive as a GET

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]

    def __enter__(self) -> "Receiver":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()
