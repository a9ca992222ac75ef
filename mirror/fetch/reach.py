"""Why a host could not be reached, in plain words, and whether trying again can help.

    why = unreachable(exc)       # Unreachable | None, from an aiohttp or OS connection error
    why.text                     # "no such host (the name does not resolve)", "connection refused", ...
    why.retry                    # False for a name that does not resolve: asking again changes nothing

Used by every client that talks to hosts a person named (the harvest's fetcher, peers, a remote
node's search), so an unreachable host reads the same everywhere: ``cannot reach HOST: WHY``.
"""

from __future__ import annotations

import asyncio
import errno
import re
import socket
from dataclasses import dataclass

import aiohttp

from mirror.fetch.guard import refusal_of

_REASONS = {
    errno.ECONNREFUSED: "connection refused",
    errno.EHOSTUNREACH: "no route to the host",
    errno.ENETUNREACH: "the network is unreachable",
    errno.ETIMEDOUT: "the connection timed out",
    errno.ECONNRESET: "the connection was reset",
    errno.ECONNABORTED: "the connection was aborted",
    errno.EADDRNOTAVAIL: "the address is not available",
}
_DNS_ERRNOS = {getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA", "EAI_FAIL", "EAI_AGAIN")
               if hasattr(socket, name)}
NO_SUCH_HOST = "no such host (the name does not resolve)"
_ERRNO = re.compile(r"\[Errno (\d+)\]")


@dataclass(frozen=True)
class Unreachable:
    """A host that could not be reached: why (``text``) and whether a retry may help (``retry``)."""

    host: str
    text: str
    retry: bool

    def __str__(self) -> str:
        return f"cannot reach {self.host}: {self.text}"


def unreachable(exc: BaseException, host: str = "") -> Unreachable | None:
    """The plain reason behind a connection failure; None when EXC is not one (a refused address,
    an HTTP error, a malformed answer...)."""
    if refusal_of(exc) is not None:        # the address guard's refusal surfaces as a DNS error
        return None
    if isinstance(exc, aiohttp.ClientConnectorError):
        where = host or _host_port(exc.host, exc.port)
        if isinstance(exc, aiohttp.ClientConnectorDNSError) or _is_dns(exc.os_error):
            return Unreachable(where, NO_SUCH_HOST, retry=False)
        if isinstance(exc, aiohttp.ClientConnectorCertificateError):
            return Unreachable(where, "its TLS certificate is not valid", retry=False)
        return Unreachable(where, _reason(exc.os_error), retry=True)
    if isinstance(exc, socket.gaierror) or _is_dns(exc):
        return Unreachable(host, NO_SUCH_HOST, retry=False)
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return Unreachable(host, "no answer in time", retry=True)
    if isinstance(exc, (aiohttp.ServerDisconnectedError, ConnectionError)):
        return Unreachable(host, _reason(exc) if isinstance(exc, OSError) else "the server closed the "
                           "connection", retry=True)
    return None


def _is_dns(exc: BaseException | None) -> bool:
    return isinstance(exc, socket.gaierror) or (isinstance(exc, OSError) and exc.errno in _DNS_ERRNOS
                                                and not isinstance(exc, ConnectionError))


def _reason(exc: BaseException | None) -> str:
    if isinstance(exc, OSError) and exc.errno in _REASONS:
        return _REASONS[exc.errno]
    codes = [int(code) for code in _ERRNO.findall(str(exc))]       # "Multiple exceptions: [Errno 111] ..."
    if codes and all(code == codes[0] for code in codes) and codes[0] in _REASONS:
        return _REASONS[codes[0]]
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    text = str(exc) if exc is not None else ""
    return text[:200] or "the connection failed"


def _host_port(host: str, port: int | None) -> str:
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port else host
