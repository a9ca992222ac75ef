"""Multiaddrs for the node's HTTP(S) address: derived from its public URL, in text and binary form.

Only what an HTTP provider needs is written here (multiformats/multiaddr ``protocols.csv``)::

    name        code   value in binary
    ip4         4      4 bytes
    ip6         41     16 bytes
    dns         53     varint length + UTF-8 name
    tcp         6      2-byte big-endian port
    http        480    none
    https       443    none
    http-path   481    varint length + the path, percent-decoded (percent-encoded in text)
    p2p         421    varint length + the binary peer ID (base58btc in text)

``https://host`` becomes ``/dns/host/tcp/443/https``, ``http://1.2.3.4:8470`` becomes
``/ip4/1.2.3.4/tcp/8470/http``, an IPv6 literal ``/ip6/…`` (compressed form), and a URL with a
path below the root adds ``/http-path/…`` (IPNI and most clients join their paths under it).
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse

from mirror.errors import ConfigError
from mirror.node.routing.peerid import parse_peer_id
from mirror.store.cid import b58encode, encode_varint

_CODES = {"ip4": 4, "ip6": 41, "dns": 53, "dns4": 54, "dns6": 55, "tcp": 6, "http": 480,
          "https": 443, "tls": 448, "http-path": 481, "p2p": 421}
_NO_VALUE = frozenset({"http", "https", "tls"})
_HOSTNAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")
MAX_URL = 2048


def url_to_multiaddr(url: str) -> str:
    """The multiaddr of an ``http(s)://host[:port][/path]`` URL; ``ConfigError`` for anything else."""
    if not isinstance(url, str) or len(url) > MAX_URL:
        raise ConfigError("a provider URL must be a string of at most 2048 characters")
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"not a URL: {url[:200]!r} ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"not an http(s) URL: {url[:200]!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError(f"a provider URL has no user, query or fragment: {url[:200]!r}")
    port = port or (443 if parts.scheme == "https" else 80)
    text = f"{_host_part(parts.hostname)}/tcp/{port}/{parts.scheme}"
    path = parts.path.rstrip("/")
    if path:
        text += "/http-path/" + urllib.parse.quote(urllib.parse.unquote(path).lstrip("/"), safe="")
    return text


def provider_addrs(url: str | None) -> list[str]:
    """The multiaddrs of a node's public URL: one, or none when it cannot be a provider address."""
    try:
        return [url_to_multiaddr(url)] if url else []
    except ConfigError:
        return []


def _host_part(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return f"/ip{address.version}/{address.compressed}"
    try:
        name = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ConfigError(f"not a host name: {host[:200]!r}") from None
    if not _HOSTNAME.fullmatch(name):
        raise ConfigError(f"not a host name: {host[:200]!r}")
    return f"/dns/{name}"


def with_peer(multiaddr: str, peer: str) -> str:
    """MULTIADDR with ``/p2p/PEER`` at its end (how an HTTP announce names the publisher)."""
    return f"{multiaddr}/p2p/{b58encode(parse_peer_id(peer))}"


def components(multiaddr: str) -> list[tuple[str, str | None]]:
    """The (protocol, value) pairs of a multiaddr written by this module; ``ValueError`` otherwise."""
    parts = multiaddr.split("/")
    if parts[0] != "" or len(parts) < 2:
        raise ValueError(f"not a multiaddr: {multiaddr[:200]!r}")
    out: list[tuple[str, str | None]] = []
    i = 1
    while i < len(parts):
        name = parts[i]
        if name not in _CODES:
            raise ValueError(f"unknown multiaddr protocol {name[:40]!r}")
        if name in _NO_VALUE:
            out.append((name, None))
            i += 1
            continue
        if i + 1 >= len(parts):
            raise ValueError(f"multiaddr protocol {name} lacks its value")
        out.append((name, parts[i + 1]))
        i += 2
    return out


def protocol_names(multiaddr: str) -> list[str]:
    """The protocol names of a multiaddr, in order (``/ip4/…/tcp/80/http`` -> ip4, tcp, http)."""
    return [name for name, _ in components(multiaddr)]


def to_bytes(multiaddr: str) -> bytes:
    """The binary form of a multiaddr written by this module; ``ValueError`` for a malformed one."""
    out = bytearray()
    for name, value in components(multiaddr):
        out += encode_varint(_CODES[name])
        if value is not None:
            out += _value_bytes(name, value)
    return bytes(out)


def _value_bytes(name: str, value: str) -> bytes:
    if name == "ip4":
        return ipaddress.IPv4Address(value).packed
    if name == "ip6":
        return ipaddress.IPv6Address(value).packed
    if name == "tcp":
        port = int(value)
        if not 0 <= port <= 65535 or value != str(port):
            raise ValueError(f"not a TCP port: {value!r}")
        return port.to_bytes(2, "big")
    if name == "p2p":
        data = parse_peer_id(value)
    elif name == "http-path":
        data = urllib.parse.unquote(value).encode("utf-8")
    else:
        data = value.encode("utf-8")
    return encode_varint(len(data)) + data
