"""Where a webhook may go: the URL rules, the address policy, and a transport that keeps to them.

A webhook URL is chosen by whoever edits the partner, and the portal's worker POSTs to it from
inside our network: without these checks it is a way to reach the cloud metadata service, the
database or Redis (server-side request forgery). So the host is resolved and *every* address it
resolves to must be a public unicast one, both when the URL is saved and when each attempt is
sent; the attempt then connects to exactly the address it checked, so a DNS answer that changes
in between (DNS rebinding) cannot redirect it. TLS still verifies the certificate for the host
name in the URL, and that name is the SNI and the Host header.

Loopback targets (and plain http to them) exist for development only: the demo partner app on
localhost receives webhooks in ``make run``. ``settings.WEBHOOK_ALLOW_LOOPBACK`` (on with DEBUG)
allows them; nothing allows private, link-local or other internal addresses.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import typing

import httpcore
import httpx
from django.conf import settings
from django.utils.translation import gettext

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

LOOPBACK_NAMES = frozenset({"localhost"})
DEFAULT_PORTS = {"https": 443, "http": 80}

# Addresses of cloud platforms' instance metadata and host services. Most are link-local or
# private anyway; Azure's wire server is a public address reachable only from inside Azure.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "168.63.129.16")
)
PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(network) for network in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
CGNAT_NETWORK = ipaddress.ip_network("100.64.0.0/10")
# NAT64 (RFC 6052 well-known prefix, RFC 8215 local-use prefix): the IPv4 address is the last 32 bits.
NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
NAT64_NETWORKS = (NAT64_WELL_KNOWN, ipaddress.ip_network("64:ff9b:1::/48"))


class TargetError(Exception):
    """A webhook target that is not sent to. ``message`` and ``params`` make a translatable text."""

    def __init__(self, message: str, params: dict[str, object]) -> None:
        self.message = message
        self.params = params
        super().__init__(message % params)


class TargetRefused(TargetError):
    """The URL, or an address its host resolves to, is not allowed; nothing was sent."""


class TargetUnresolved(TargetError):
    """The host name does not resolve (now): a DNS failure, possibly temporary."""


def allow_loopback() -> bool:
    return settings.WEBHOOK_ALLOW_LOOPBACK


# --- the URL -----------------------------------------------------------------------------


def check_url(url: str) -> tuple[str, int]:
    """Check what can be checked without DNS; returns the host (ASCII, IPv6 without brackets) and port.

    https only; plain http only to a loopback host while loopback targets are allowed. No
    credentials in the URL (they would be sent to, and logged by, whoever answers).
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise TargetRefused(gettext("%(url)s is not a valid URL."), {"url": url}) from None
    host = parsed.raw_host.decode("ascii")
    if parsed.scheme not in DEFAULT_PORTS or not host:
        raise TargetRefused(gettext("%(url)s is not an https:// URL."), {"url": url})
    if parsed.scheme == "http" and not (allow_loopback() and _is_loopback_name(host)):
        raise TargetRefused(
            gettext("Webhooks are only sent over https (plain http only to localhost, in development)."), {}
        )
    if parsed.userinfo:
        raise TargetRefused(gettext("The URL must not contain a user name or password."), {})
    port = DEFAULT_PORTS[parsed.scheme] if parsed.port is None else parsed.port
    if not 0 < port < 65536:
        raise TargetRefused(gettext("%(port)s is not a valid port."), {"port": port})
    return host, port


def _is_loopback_name(host: str) -> bool:
    address = _literal(host)
    return address.is_loopback if address is not None else host.lower() in LOOPBACK_NAMES


def check_target(url: str) -> list[IPAddress]:
    """Check the URL and every address its host resolves to now; returns those addresses."""
    return allowed_addresses(*check_url(url))


# --- the addresses -----------------------------------------------------------------------


def resolve(host: str, port: int) -> list[IPAddress]:
    """The host's addresses for a TCP connection, in the resolver's order, without repeats."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise TargetUnresolved(
            gettext("%(host)s cannot be resolved (%(reason)s)."), {"host": host, "reason": str(exc)}
        ) from exc
    addresses: list[IPAddress] = []
    for *_, sockaddr in answers:
        address = ipaddress.ip_address(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def allowed_addresses(host: str, port: int) -> list[IPAddress]:
    """Resolve ``host`` and check every address; one refused address refuses the host.

    Refusing only the bad answers would still let a name that mixes public and internal
    addresses reach the internal ones whenever the public ones fail to connect.
    """
    literal = _literal(host)
    addresses = [literal] if literal is not None else resolve(host, port)
    if not addresses:
        raise TargetUnresolved(gettext("%(host)s has no address."), {"host": host})
    for address in addresses:
        problem = address_problem(address)
        if problem is None:
            continue
        if literal is not None:
            raise TargetRefused(gettext("%(address)s is %(problem)s."), {"address": address, "problem": problem})
        raise TargetRefused(
            gettext("%(host)s resolves to %(address)s, %(problem)s."),
            {"host": host, "address": address, "problem": problem},
        )
    return addresses


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def address_problem(address: IPAddress) -> str | None:
    """Why a webhook must not go to ``address`` (a phrase such as "a private address"), or None."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            # Never a real AAAA answer; the socket layer would connect to the embedded IPv4 address.
            return gettext("an IPv4-mapped address")
        embedded = address.sixtofour or _nat64_embedded(address)
        if embedded is not None:
            if (problem := address_problem(embedded)) is not None:
                return gettext("a 6to4 or NAT64 form of %(address)s, %(problem)s") % {
                    "address": embedded,
                    "problem": problem,
                }
            if address in NAT64_WELL_KNOWN:
                # A public IPv4 host as an IPv6-only network's DNS64 presents it (via its NAT64 gateway).
                return None
    if address in METADATA_ADDRESSES:
        return gettext("a cloud metadata address")
    if address.is_unspecified:
        return gettext("an unspecified address")
    if address.is_loopback:
        return None if allow_loopback() else gettext("a loopback address")
    if address.is_link_local:
        return gettext("a link-local address")
    if address.is_multicast:
        return gettext("a multicast address")
    if address in CGNAT_NETWORK:
        return gettext("a carrier-grade NAT address")
    if any(address in network for network in PRIVATE_NETWORKS):
        return gettext("a private address")
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return gettext("a site-local address")
    if address.is_reserved:
        return gettext("a reserved address")
    if not address.is_global:
        return gettext("an address that is not publicly routable")
    return None


def _nat64_embedded(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if any(address in network for network in NAT64_NETWORKS):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


# --- the connection ----------------------------------------------------------------------


class GuardedBackend(httpcore.NetworkBackend):
    """Opens a TCP connection only after checking the host's addresses, and only to one of them.

    httpcore hands over the URL's host name; the TLS layer above still uses that name for SNI
    and certificate verification, while the socket goes to the checked address itself.
    """

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = allowed_addresses(host, port)
        except TargetUnresolved as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        # Each checked address in the resolver's order, as socket.create_connection would.
        for address in addresses[:-1]:
            try:
                return self._connect(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                continue
        return self._connect(addresses[-1], port, timeout, local_address, socket_options)

    def _connect(self, address, port, timeout, local_address, socket_options) -> httpcore.NetworkStream:
        return self._inner.connect_tcp(
            str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's own transport, opening its connections through GuardedBackend and ignoring proxy
    variables from the environment (a proxy would connect on our behalf, past every check)."""

    def __init__(self, *, verify: ssl.SSLContext | bool = True, network_backend: httpcore.NetworkBackend | None = None):
        super().__init__(verify=verify, trust_env=False)
        # HTTPTransport takes no network backend: its pool is rebuilt with ours, with the same
        # TLS settings and httpx's default limits (httpx is pinned in requirements.txt).
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(network_backend),
        )
