"""The URL a node gives others: peers (notifies, peer lists, holdings), IPFS clients (its provider
address) and the operator (the ready line, ``status``).

It is ``node.public_url`` (``--public-url``) when set, else ``http://LISTEN``. A wildcard listen
address (``0.0.0.0``, ``::``: every interface) names no host anyone can reach, so the node never
advertises it: it takes the address this machine's traffic leaves from (found by routing a UDP
socket towards a documentation address: no packet is sent) and says so in its log, or, when there
is none but loopback, refuses to start and asks for ``--public-url``.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from urllib.parse import urlsplit

from mirror.errors import UsageError
from mirror.node.limits import MAX_URL

log = logging.getLogger(__name__)

WILDCARDS = frozenset({"", "0.0.0.0", "::", "*"})
# Where a UDP socket is pointed to learn the outbound address (RFC 5737 / RFC 3849 documentation
# ranges: routed like any public address, never answered; ``connect`` on UDP sends nothing).
PROBES = (("192.0.2.1", socket.AF_INET), ("2001:db8::1", socket.AF_INET6))


def normalize_url(url: str) -> str:
    """The canonical form of a peer URL (``http(s)://host[:port][/path]``); ``UsageError`` else."""
    text = (url or "").strip()
    if len(text) > MAX_URL:
        raise UsageError("peer URL is too long")
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise UsageError(f"not a peer URL: {url[:100]!r}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UsageError(f"not a peer URL: {url[:100]!r}", hint="use http://HOST:PORT")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise UsageError(f"a peer URL has no user, query or fragment: {url[:100]!r}")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    return f"{parts.scheme.lower()}://{netloc}{parts.path.rstrip('/')}"


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT``) as (host, port); ``UsageError`` when malformed."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"not HOST:PORT: {text!r}", hint="e.g. --listen 127.0.0.1:8470")
    return host, int(port)


def is_wildcard(host: str) -> bool:
    return host.strip("[]") in WILDCARDS


def local_url(public_url: str, host: str, port: int) -> str:
    """The node's URL before it serves, found without a socket: ``advertised_url``, except that a
    wildcard stands for loopback (nothing is advertised before the node serves)."""
    if public_url or not is_wildcard(host):
        return advertised_url(public_url, host, port)
    return normalize_url(f"http://{'[::1]' if ':' in host else '127.0.0.1'}:{port}")


def advertised_url(public_url: str, host: str, port: int, *,
                   probes: tuple[tuple[str, int], ...] = PROBES) -> str:
    """The URL to advertise for a node listening on HOST:PORT (see the module docstring);
    ``UsageError`` asking for ``--public-url`` when HOST is a wildcard and no address is found.
    For a wildcard it opens a socket: call it off the event loop."""
    if public_url:
        return normalize_url(public_url)
    if not is_wildcard(host):
        return normalize_url(f"http://{bracket(host)}:{port}")
    address = outbound_address(probes)
    if address is None:
        raise UsageError(f"listening on {host or '*'}:{port} (every interface), this node cannot tell "
                         "which address others reach it at",
                         hint="give it: --public-url http://HOST:PORT (the node.public_url setting)")
    url = normalize_url(f"http://{bracket(address)}:{port}")
    log.warning("listening on every interface: advertising %s to peers and IPFS clients (give "
                "--public-url URL if others reach this node at another address)", url)
    return url


def outbound_address(probes: tuple[tuple[str, int], ...] = PROBES) -> str | None:
    """The address this machine's traffic to the internet leaves from (None: only loopback)."""
    for target, family in probes:
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.connect((target, 9))
                address = probe.getsockname()[0]
        except OSError:
            continue
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not (ip.is_loopback or ip.is_unspecified or ip.is_link_local):
            return str(ip)
    return None


def bracket(host: str) -> str:
    """HOST as it goes in a URL (IPv6 literals in brackets)."""
    host = host.strip("[]")
    return f"[{host}]" if ":" in host else host
