"""The address guard: which IP addresses an outgoing connection may reach, checked at connect time.

Anything a remote party names (a redirect, a link, a file URL in a record, a peer learned from
another peer) may point at the machine itself or at its intranet: a cloud metadata service, a
router's admin page, a database without a password. So every connection a guarded session makes is
checked against an ``AddressPolicy`` on the IP address it is about to connect to, after DNS, not on
the URL string: a name that resolved to a public address when something looked at it may resolve
to 10.0.0.5 a second later (DNS rebinding), and only the address the socket connects to counts.

    policy = harvest_policy(settings, allow_private=False)      # or node_policy(settings)
    connector = GuardedConnector(policy, limit=16)              # an aiohttp.TCPConnector
    session = aiohttp.ClientSession(connector=connector)        # every connection is checked,
                                                                #   each redirect hop included
    connector.policy = connector.policy.trusting("http://10.0.0.5:8470")  # configured by the operator

A refused connection raises ``AddressRefused`` from inside aiohttp, which hands it on as the
``os_error`` of a ``ClientConnectorError`` (an ``aiohttp.ClientError``, so callers that already
handle connection failures handle it too); ``refusal_of(exc)`` finds it for a caller that reports
the reason. ``classify(ip)`` names the kind of any non-global address (``None``: global).

What is refused (unless ``allow_private``): every address that is not globally reachable by the
IANA special-purpose registries: unspecified, loopback, private (RFC 1918, IPv6 unique local),
link-local, carrier-grade NAT (100.64.0.0/10), multicast, broadcast, documentation, benchmarking
and reserved ranges, and IPv6 outside the global unicast 2000::/3. IPv6 addresses that carry an
IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``) are
judged by the IPv4 address they carry. The table is ours, not ``ipaddress.is_global``, whose
answers differ between Python versions and which calls NAT64 and 6to4 addresses global.

What is always allowed: ``allowed_networks`` (an operator's intranet range) and ``trusted_hosts``,
the hosts the operator configured (a ``--peer``, a ``join`` URL): a trusted host name may resolve to
any address, because the operator chose it, not a remote party.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import ResolveResult

from mirror.errors import AddressRefused, ConfigError
from mirror.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

__all__ = ["AddressPolicy", "GuardedConnector", "classify", "harvest_policy", "listens_on_loopback",
           "node_policy", "parse_networks", "refusal_of"]

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network
_EMBEDS_V4 = "embeds IPv4"
# IANA IPv4 special-purpose address registry, less the few entries marked globally reachable.
_IPV4: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_V4("0.0.0.0/8"), "unspecified"), (_V4("10.0.0.0/8"), "private"),
    (_V4("100.64.0.0/10"), "carrier-grade NAT"), (_V4("127.0.0.0/8"), "loopback"),
    (_V4("169.254.0.0/16"), "link-local"), (_V4("172.16.0.0/12"), "private"),
    (_V4("192.0.0.0/24"), "reserved"), (_V4("192.0.2.0/24"), "documentation"),
    (_V4("192.88.99.0/24"), "reserved"), (_V4("192.168.0.0/16"), "private"),
    (_V4("198.18.0.0/15"), "benchmarking"), (_V4("198.51.100.0/24"), "documentation"),
    (_V4("203.0.113.0/24"), "documentation"), (_V4("224.0.0.0/4"), "multicast"),
    (_V4("255.255.255.255/32"), "broadcast"), (_V4("240.0.0.0/4"), "reserved"),
)
# IANA IPv6 special-purpose address registry, first match wins; then anything outside 2000::/3.
_IPV6: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("::/128"), "unspecified"), (_V6("::1/128"), "loopback"),
    (_V6("::ffff:0:0/96"), _EMBEDS_V4), (_V6("64:ff9b::/96"), _EMBEDS_V4),
    (_V6("2002::/16"), _EMBEDS_V4), (_V6("::/96"), "reserved"),
    (_V6("64:ff9b:1::/48"), "private"), (_V6("100::/64"), "reserved"),
    (_V6("2001:db8::/32"), "documentation"), (_V6("2001::/23"), "reserved"),
    (_V6("3fff::/20"), "documentation"), (_V6("5f00::/16"), "reserved"),
    (_V6("fc00::/7"), "private"), (_V6("fe80::/10"), "link-local"), (_V6("fec0::/10"), "private"),
    (_V6("ff00::/8"), "multicast"),
)
_GLOBAL_UNICAST = _V6("2000::/3")


def parse_ip(text: str) -> IPAddress | None:
    """The IP address in ``text`` (an IPv6 zone, ``%eth0``, and brackets dropped); None if not one."""
    try:
        return ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)        # NAT64: the last 32 bits


def classify(ip: IPAddress | str) -> str | None:
    """The kind of a non-global address (``"loopback"``, ``"private"``, ``"link-local"``...), or
    None for a globally reachable one. A string that is no IP address is ``"not an IP address"``."""
    addr = parse_ip(ip) if isinstance(ip, str) else ip
    if addr is None:
        return "not an IP address"
    if isinstance(addr, ipaddress.IPv4Address):
        return next((kind for net, kind in _IPV4 if addr in net), None)
    for net, kind in _IPV6:
        if addr in net:
            return classify(_embedded_v4(addr)) if kind == _EMBEDS_V4 else kind
    return None if addr in _GLOBAL_UNICAST else "reserved"


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def host_of(location: str) -> str:
    """The host of a URL (or a bare host name), lower case, without brackets or a final dot."""
    host = urlsplit(location).hostname if "://" in location else location
    return (host or "").strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses connections may reach (see the module docstring). Immutable: derive a new
    one with ``trusting`` or ``dataclasses.replace``. ``hint`` goes with every refusal."""

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()
    trusted_hosts: frozenset[str] = field(default_factory=frozenset)
    hint: str | None = None

    def refusal(self, address: str, host: str | None = None) -> str | None:
        """Why a connection to ``address`` (reached through the name ``host``) is refused, as a
        sentence; None when it is allowed."""
        if self.allow_private or (host is not None and host_of(host) in self.trusted_hosts):
            return None
        ip = parse_ip(address)
        if ip is not None and self._allowed_network(ip):
            return None
        kind = classify(ip if ip is not None else address)
        if kind is None:
            return None
        what = f"{address} is {_article(kind)} {kind} address" if ip is not None else f"{address!r} is {kind}"
        name = host_of(host) if host else ""
        if name and parse_ip(name) != ip:
            what = f"{name} resolves to {what.replace(' is ', ', ', 1)}"
        return what

    def literal_refusal(self, url: str) -> str | None:
        """``refusal`` for a URL whose host is an IP address, decided without DNS (to drop a learned
        address before storing it); None for a host name (the connect-time check decides later)."""
        host = host_of(url)
        return self.refusal(host, host) if parse_ip(host) is not None else None

    def trusting(self, *locations: str) -> AddressPolicy:
        """This policy, also allowing whatever the hosts of ``locations`` (URLs or host names)
        resolve to: addresses the operator configured."""
        hosts = {host_of(loc) for loc in locations} - {""}
        return replace(self, trusted_hosts=self.trusted_hosts | hosts)

    def _allowed_network(self, ip: IPAddress) -> bool:
        candidates = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        return any(c.version == net.version and c in net for c in candidates for net in self.allowed_networks)


def parse_networks(values: Iterable[str], key: str = "fetch.allowed_networks") -> tuple[IPNetwork, ...]:
    """``["10.1.0.0/16", "192.0.2.7"]`` as networks; ConfigError naming ``key`` for a bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(str(value).strip(), strict=False))
        except ValueError as exc:
            raise ConfigError(f"setting {key}: {value!r} is not an IP network ({exc})",
                              hint="write networks as 10.1.0.0/16, fd00::/8 or single addresses") from exc
    return tuple(networks)


def harvest_policy(settings: Settings, *, allow_private: bool = False) -> AddressPolicy:
    """The policy of ``openmirror mirror``: ``--allow-private`` and ``fetch.allowed_networks``."""
    return AddressPolicy(allow_private=allow_private,
                         allowed_networks=parse_networks(settings.fetch.allowed_networks),
                         hint="rerun with --allow-private if you mean to harvest from private "
                              "addresses (or list the network in fetch.allowed_networks)")


def listens_on_loopback(listen: str) -> bool:
    """True when ``HOST:PORT`` (``node.listen``) names a loopback address or ``localhost``."""
    host = listen.rsplit(":", 1)[0] if listen.count(":") == 1 or listen.startswith("[") else listen
    host = host_of(host)
    ip = parse_ip(host)
    return host == "localhost" or (ip is not None and classify(ip) == "loopback")


def node_policy(settings: Settings, *, trusted: Sequence[str] = ()) -> AddressPolicy:
    """The policy for addresses a node learns from the network (peer exchange, a notify's
    ``origin``, holder announcements, audit targets): ``node.allow_private_addresses``, where
    ``auto`` means "only while the node listens on a loopback address" (a local test network).
    ``trusted``: the URLs the operator configured (``node.peers``, ``--peer``, ``join URL``);
    ``node.allowed_networks``: networks always allowed (an intranet of nodes)."""
    value = settings.node.allow_private_addresses
    allow = listens_on_loopback(str(settings.node.listen)) if value == "auto" else bool(value)
    policy = AddressPolicy(allow_private=allow,
                           allowed_networks=parse_networks(settings.node.allowed_networks,
                                                           "node.allowed_networks"),
                           hint="set node.allow_private_addresses = true to reach peers on private "
                                "addresses (or list the network in node.allowed_networks)")
    return policy.trusting(*trusted, *settings.node.peers)


class GuardedConnector(aiohttp.TCPConnector):
    """An ``aiohttp.TCPConnector`` that connects only to addresses ``policy`` allows.

    The check sits where aiohttp resolves a host for a new connection (the override aiohttp's own
    documentation shows for this purpose), so it sees the very addresses the socket will try, IP
    literals included, and runs for every new connection: each redirect hop, each retry, after the
    DNS cache expired. Addresses the policy refuses are dropped from the answer; when none is left
    the connection fails with ``AddressRefused``. ``policy`` may be replaced at any time; ``refused``
    counts refused connections."""

    def __init__(self, policy: AddressPolicy, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.policy = policy
        self.refused = 0

    def trust(self, *locations: str) -> None:
        """Allow the hosts of ``locations`` from now on (the operator configured them)."""
        if any(host_of(loc) not in self.policy.trusted_hosts for loc in locations):
            self.policy = self.policy.trusting(*locations)

    async def lookup(self, host: str, port: int) -> list[str]:
        """Every address ``host`` resolves to, unchecked (through the connector's resolver and DNS
        cache): to tell whether a location the operator typed is itself on a private address."""
        return [r["host"] for r in await super()._resolve_host(host, port)]

    async def _resolve_host(self, host: str, port: int, traces: Sequence[Any] | None = None
                            ) -> list[ResolveResult]:
        results = await super()._resolve_host(host, port, traces=traces)
        policy = self.policy
        allowed = [r for r in results if policy.refusal(r["host"], host) is None]
        if allowed or not results:
            return allowed
        self.refused += 1
        address = results[0]["host"]
        raise AddressRefused(f"refused: {policy.refusal(address, host)}", address=address, hint=policy.hint)


def refusal_of(exc: BaseException | None) -> AddressRefused | None:
    """The ``AddressRefused`` behind an aiohttp connection error (or ``exc`` itself); None when the
    failure had another cause."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, AddressRefused):
            return exc
        seen.add(id(exc))
        exc = getattr(exc, "os_error", None) or exc.__cause__ or exc.__context__
    return None
