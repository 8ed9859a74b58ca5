"""Where the portal may send an outbound request: one rule for every outbound URL.

Anyone may subscribe a webhook to the status page, and admins and people set
webhook URLs: without a rule, the portal would post (and show the answers of)
requests to its own network: the cloud metadata service, Redis, an admin
console. So every outbound URL, whoever set it, must name a public address:

- A name is normalised first (case, one trailing dot, IDNA), so that
  `Metadata.Google.Internal.` and its Unicode look-alikes are seen for what
  they are. Names that only make sense inside a network (`localhost`, one
  label such as `redis`, `.internal`, `.local` ...) are refused.
- An address is public when it is globally routable unicast: loopback,
  private, link-local, CGNAT (100.64/10), multicast, reserved, unspecified and
  documentation ranges are not, nor IPv6 forms that carry such an IPv4 address
  (IPv4-mapped and -compatible, NAT64 64:ff9b::/96, 6to4 2002::/16), nor the
  local-use NAT64 prefix 64:ff9b:1::/48.
- At delivery time (`resolve()`), a name is resolved once, every address it
  resolves to must be public, and the transport connects to one of exactly
  those addresses (DNS rebinding cannot swap it between the check and the
  connection). Early checks (`url_refusal()`, for forms and services) need no
  DNS: they catch IP literals and internal names so a person gets a clear
  answer; the delivery-time check is the real guard.
- settings.OUTBOUND_ALLOWED_HOSTS lists exact host names (or IP literals) an
  admin allows although they are internal, such as a self-hosted receiver: it
  is the only way to reach a non-public address.

Messages of the errors never name a resolved address: they are shown in the
outbox and must not tell anyone about the inside of the network.
"""

import ipaddress
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, quote, urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Top-level names that never lead to a public host: special-use (RFC 6761,
# RFC 6762, RFC 8375's home.arpa) and the private-use names networks commonly give themselves.
INTERNAL_SUFFIXES = frozenset(
    {"localhost", "localdomain", "local", "internal", "intranet", "private", "corp", "home", "lan"}
    | {"arpa", "invalid", "test"}
)

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_LEGACY_IPV4_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


class AddressRefused(Exception):
    """The URL names a host the portal will not call; the message is safe to show."""


class AddressUnresolved(Exception):
    """The host name does not resolve (now); trying again later may help."""


@dataclass(frozen=True)
class Target:
    """Where one outbound request goes, checked: connect to `addresses`, speak to `host`."""

    scheme: str
    host: str  # normalised; the Host header and the TLS server name
    port: int
    path: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]  # checked addresses to connect to, in the resolver's order


# --- Addresses ------------------------------------------------------------------------------------


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries, where the IPv6 form leads to it."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or address in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64_LOCAL:
            return False  # the IPv4 address sits anywhere in it: refuse the prefix
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public_address(embedded)
        if address.is_site_local:
            return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


# --- Names ----------------------------------------------------------------------------------------


def normalise_host(host: str) -> str:
    """The host as it is resolved and compared: lower case, no trailing dot, IDNA A-labels.

    Raises AddressRefused for something that is no host name.
    """
    host = (host or "").strip().strip("[]").lower()
    if ":" in host:  # an IPv6 literal
        try:
            return str(ipaddress.IPv6Address(host))
        except ValueError:
            raise AddressRefused(f"{host!r} is not a valid IPv6 address.") from None
    host = host.removesuffix(".")  # "name." is the same name as "name"
    try:
        # The stdlib codec (IDNA 2003) maps full-width letters, digits and dots
        # ("ｌｏｃａｌｈｏｓｔ", "１２７。０。０。１") to what resolvers will see.
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise AddressRefused(f"{host!r} is not a valid host name.") from None
    labels = host.split(".")
    if not host or not all(_LABEL.match(label) for label in labels):
        raise AddressRefused(f"{host!r} is not a valid host name.")
    return host


def _ip_literal(host: str) -> IPAddress | None:
    """The address a normalised host spells, including the legacy IPv4 forms resolvers accept.

    `127.1`, `2130706433`, `0x7f.0.0.1` and `0177.0.0.1` all reach 127.0.0.1.
    As browsers do (WHATWG URL), a host whose last label is a number is an
    IPv4 address or nothing: no public name ends in a number.
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if not _LEGACY_IPV4_LABEL.match(host.rsplit(".", 1)[-1]):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        raise AddressRefused(f"{host!r} is neither a valid IPv4 address nor a host name.") from None


def allowed_hosts() -> frozenset[str]:
    return frozenset(normalise_host(entry) for entry in settings.OUTBOUND_ALLOWED_HOSTS)


def _name_refusal(host: str) -> str | None:
    if host.rsplit(".", 1)[-1] in INTERNAL_SUFFIXES:
        return f"{host!r} is a local or internal name, not a public one."
    if "." not in host:
        # One label is resolved through the network's search domains: "redis", "metadata".
        return f"{host!r} is not a public host name (it has no domain)."
    return None


# --- URLs -----------------------------------------------------------------------------------------

_NOT_PUBLIC = "The URL must point to a public address, not a local or private one"


def _split(url: str) -> tuple[SplitResult, str]:
    """The parts of an http(s) URL and its normalised host, or AddressRefused."""
    try:
        parts = urlsplit((url or "").strip())
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise AddressRefused("Enter a valid http:// or https:// URL.") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise AddressRefused("Enter an http:// or https:// URL with a host name.")
    if parts.username is not None or parts.password is not None:
        # Not sent anyway, and "https://public.example@10.0.0.1/" reads like a public URL.
        raise AddressRefused("A URL with a user name or password in it is not accepted.")
    return parts, normalise_host(parts.hostname)


def _check_host(host: str) -> IPAddress | None:
    """The literal address of a host that is not allowed by name, checked; None for a name."""
    literal = _ip_literal(host)
    if literal is not None:
        if not is_public_address(literal):
            raise AddressRefused(f"{_NOT_PUBLIC} ({host} is not public).")
        return literal
    refusal = _name_refusal(host)
    if refusal is not None:
        raise AddressRefused(f"{_NOT_PUBLIC}: {refusal}")
    return None


def url_refusal(url: str) -> str | None:
    """Why the portal would refuse to call this URL, as far as that is known without DNS; None if not.

    For forms and services, so that a person gets a clear answer at once;
    where a name resolves to is checked by resolve() when the request is made.
    """
    try:
        _parts, host = _split(url)
        if host not in allowed_hosts():
            _check_host(host)
    except AddressRefused as error:
        return str(error)
    return None


def resolve(url: str) -> Target:
    """Check a URL, resolve its host once, and return the checked addresses to connect to.

    Raises AddressRefused (permanent) or AddressUnresolved (DNS failed; try again).
    """
    parts, host = _split(url)
    allowed = host in allowed_hosts()
    literal = _ip_literal(host) if allowed else _check_host(host)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError) as error:
            raise AddressUnresolved(f"Could not resolve {host}: {error}") from None
        addresses = []
        for _family, _type, _proto, _name, sockaddr in found:
            address = ipaddress.ip_address(sockaddr[0])
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise AddressUnresolved(f"Could not resolve {host}: no address")
        # Every address, not only the first: a name that also resolves inside
        # the network is refused whatever address a connection would pick.
        if not allowed and not all(is_public_address(a) for a in addresses):
            raise AddressRefused(f"{_NOT_PUBLIC}: {host} resolves to an address that is not public.")
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    return Target(
        scheme=parts.scheme,
        host=host,
        port=port,
        path=path,
        addresses=tuple(str(a) for a in addresses),
    )


# --- Hosts a library connects to (apprise) --------------------------------------------------------


def host_refusal(host: str) -> str | None:
    """Why the portal would refuse to connect to this host, as far as that is known without DNS; None if not.

    For URLs the portal does not send itself (an apprise URL such as
    ntfys://ntfy.example.com/topic): the same early check as url_refusal().
    """
    try:
        host = normalise_host(host)
        if host not in allowed_hosts():
            _check_host(host)
    except AddressRefused as error:
        return str(error)
    return None


def check_resolved(host: str, resolved: Sequence[str]) -> None:
    """Raise AddressRefused unless a connection to `host` at these resolved addresses is allowed.

    For a library that resolves a name itself (apprise, through requests): the
    transport checks each of its lookups with this, and the library connects
    to exactly the addresses that passed, as resolve() guarantees for webhooks.
    """
    host = normalise_host(host)
    if host in allowed_hosts():
        return
    if _check_host(host) is not None:
        return  # an IP literal, public
    try:
        found = [ipaddress.ip_address(address) for address in resolved]
    except ValueError:
        found = []
    if not found or not all(is_public_address(address) for address in found):
        raise AddressRefused(f"{_NOT_PUBLIC}: {host} resolves to an address that is not public.")
