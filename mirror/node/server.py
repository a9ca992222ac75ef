"""The node's HTTP server, held against clients that try to take it down (issue 12, item 5).

    gate = ConnectionGate(total=512, per_address=64)
    runner = NodeRunner(build_app(node), node.settings, gate)     # a web.AppRunner
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", 8470).start()

What one client can hold, and for how long, is bounded at the layer that sees it:

* **Connections**: ``ConnectionGate`` counts the open connections in all, per client address and
  per address prefix (``mirror.node.limits.address_prefix``, ``PREFIX_FACTOR`` times the
  per-address cap). A connection over a cap is answered ``503`` with ``Retry-After`` and closed
  before a byte of it is read. aiohttp has no such knob; ``GatedProtocol`` wraps the protocol of
  each connection (the runner's server factory hands it out) and admits it in ``connection_made``.
* **Headers** (slowloris): aiohttp's keep-alive timer starts when a connection opens and after
  each answer, and arriving bytes do not push it back; when it fires while no whole request head
  has arrived, aiohttp closes the connection. Its timeout is ``node.header_timeout``, so a head
  trickled a byte at a time is cut off then, as is an idle kept-alive connection.
* **Bodies**: routes that read a body do it through ``mirror.node.http.read_json`` or
  ``read_form``, within ``node.body_timeout`` (408 otherwise); a body no route reads is discarded
  after the answer for at most ``LINGER`` seconds, then the connection is closed.
* **Answers**: a client that stops reading (the socket's send buffer stays full) for
  ``node.body_timeout`` has its connection aborted (``GatedProtocol.pause_writing``), so a slow
  reader cannot hold a handler for ever.
* **Sizes**: the request line (method, path and query string) at most ``MAX_LINE`` bytes, each
  header at most ``MAX_FIELD``, at most ``MAX_HEADERS`` headers (aiohttp answers 400 or 431
  itself); bodies are capped per route (``client_max_size`` and ``read_json``'s limit).
* **Logs**: see ``mirror.node.logs``; the server's own error lines go to the ``mirror.node.server``
  logger, which the node rate-limits like its others.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any, cast

from aiohttp import web

from mirror.node.limits import PREFIX_FACTOR, address_prefix
from mirror.settings import Settings

log = logging.getLogger(__name__)
MAX_LINE = 8190                   # request line: method, path and query string
MAX_FIELD = 8190                  # one header line
MAX_HEADERS = 64                  # headers in one request
LINGER = 5.0                      # seconds an unread request body is discarded before closing
BUSY_RETRY = 5                    # Retry-After of the 503 for a connection over a cap


def _busy_answer() -> bytes:
    body = b"too many open connections\n"
    head = (f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Retry-After: {BUSY_RETRY}\r\nConnection: close\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("ascii") + body


BUSY = _busy_answer()


class ConnectionGate:
    """Open connections in all, per client address and per address prefix, each under its cap
    (0: no cap). ``refused`` counts the connections turned away."""

    def __init__(self, total: int, per_address: int) -> None:
        self.total, self.per_address = int(total), int(per_address)
        self.per_prefix = self.per_address * PREFIX_FACTOR
        self.open = 0
        self.refused = 0
        self._addresses: Counter[str] = Counter()
        self._prefixes: Counter[str] = Counter()

    def admit(self, address: str) -> str | None:
        """Count a new connection from ADDRESS; the reason it is refused (nothing counted) or None."""
        prefix = address_prefix(address)
        reason = None
        if self.total and self.open >= self.total:
            reason = "the node's connections"
        elif self.per_address and self._addresses[address] >= self.per_address:
            reason = f"the connections of {address}"
        elif self.per_prefix and prefix != address and self._prefixes[prefix] >= self.per_prefix:
            reason = f"the connections of {prefix}"
        if reason is not None:
            self.refused += 1
            return f"{reason} are at their cap"
        self.open += 1
        self._addresses[address] += 1
        self._prefixes[prefix] += 1
        return None

    def release(self, address: str) -> None:
        """A connection from ADDRESS closed."""
        self.open -= 1
        for counter, key in ((self._addresses, address), (self._prefixes, address_prefix(address))):
            counter[key] -= 1
            if counter[key] <= 0:
                del counter[key]


class GatedProtocol(asyncio.Protocol):
    """One connection: admitted by the gate, then handed to aiohttp's protocol (``inner``); aborted
    when its client stalls reading an answer for ``send_timeout`` seconds."""

    def __init__(self, inner: asyncio.Protocol, gate: ConnectionGate, send_timeout: float) -> None:
        self.inner, self.gate, self.send_timeout = inner, gate, send_timeout
        self.address: str | None = None              # set once admitted
        self._transport: asyncio.Transport | None = None
        self._stall: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, (tuple, list)) and peer else "?"
        refusal = self.gate.admit(address)
        if refusal is not None:
            log.info("refused a connection from %s: %s", address, refusal)
            transport.write(BUSY)
            transport.close()
            return
        self.address, self._transport = address, transport
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.address is not None:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.address is not None else None

    def pause_writing(self) -> None:
        if self._stall is None and self._transport is not None:
            self._stall = asyncio.get_running_loop().call_later(self.send_timeout, self._stalled)
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self._cancel_stall()
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_stall()
        if self.address is None:
            return
        self.gate.release(self.address)
        self.address = None
        self.inner.connection_lost(exc)

    def _stalled(self) -> None:
        self._stall = None
        if self._transport is not None:
            log.info("closed a connection from %s: the client stopped reading", self.address)
            self._transport.abort()

    def _cancel_stall(self) -> None:
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None


class _GatedServer:
    """aiohttp's ``web.Server`` behind the gate: what a site and the runner use of it (the protocol
    factory, ``pre_shutdown``, ``shutdown``), everything else passed through."""

    def __init__(self, inner: web.Server, gate: ConnectionGate, send_timeout: float) -> None:
        self._inner, self._gate, self._send_timeout = inner, gate, send_timeout

    def __call__(self) -> asyncio.Protocol:
        return GatedProtocol(self._inner(), self._gate, self._send_timeout)

    def pre_shutdown(self) -> None:
        self._inner.pre_shutdown()

    async def shutdown(self, timeout: float | None = None) -> None:
        await self._inner.shutdown(timeout)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def server_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of aiohttp's request handler for SETTINGS (see the module docstring)."""
    node = settings.node
    return {"keepalive_timeout": max(0.1, float(node.header_timeout)), "max_line_size": MAX_LINE,
            "max_field_size": MAX_FIELD, "max_headers": MAX_HEADERS,
            "lingering_time": min(LINGER, max(0.1, float(node.body_timeout))),
            "logger": logging.getLogger("mirror.node.server"), "access_log": None}


class NodeRunner(web.AppRunner):
    """An ``AppRunner`` whose connections pass ``gate`` and carry the bounds of SETTINGS."""

    def __init__(self, app: web.Application, settings: Settings, gate: ConnectionGate, **kwargs: Any) -> None:
        super().__init__(app, **server_options(settings), **kwargs)
        self.gate = gate
        self.send_timeout = max(0.1, float(settings.node.body_timeout))

    async def _make_server(self) -> web.Server:
        inner = await super()._make_server()
        return cast(web.Server, _GatedServer(inner, self.gate, self.send_timeout))
