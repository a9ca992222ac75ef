"""HTTP announces: telling the indexers the operator named (``node.ipni_announce``) of a new head.

An announce is ``PUT {indexer}/announce`` (the path is added when the URL has none, as
go-libipni's ``httpsender`` does) with the JSON form of go-libipni's ``message.Message``::

    {"Cid": {"/": "<head CID>"}, "Addrs": ["<base64 of a binary multiaddr>", ...],
     "ExtraData": null, "OrigPeer": ""}

each address being where the chain is served, ending in ``/p2p/<peer ID>``: that is how the
indexer learns who the publisher is, and it then fetches ``/ipni/v1/ad/head`` there and checks
the signatures. An announce is only a hint (indexers also poll), so delivery is best effort and
polite: ``notify`` never blocks; each indexer has its own worker sending only the newest head
(older ones are implied by the chain); a failure is retried after 2, 4, 8 … s (at most
``max_delay``, or the indexer's ``Retry-After``), at most ``attempts`` times per head; requests
time out after ``timeout`` seconds and read at most 4 KiB of the answer.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import urllib.parse
from collections.abc import Sequence

import aiohttp

from mirror.errors import ConfigError
from mirror.node.routing.multiaddr import to_bytes, with_peer
from mirror.node.waiting import wait_event
from mirror.store.cid import CID

log = logging.getLogger(__name__)
ANNOUNCE_PATH = "/announce"
MAX_ANSWER = 4096


def announce_url(url: str) -> str:
    """The announce endpoint of an indexer URL; ``ConfigError`` unless it is ``http(s)://host…``."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError as exc:
        raise ConfigError(f"node.ipni_announce: not a URL: {url[:200]!r} ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        raise ConfigError(f"node.ipni_announce: not an http(s) indexer URL: {url[:200]!r}",
                          hint="e.g. https://cid.contact")
    path = parts.path if parts.path not in ("", "/") else ANNOUNCE_PATH
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def announce_body(head: CID, peer: str, addrs: Sequence[str]) -> bytes:
    """The JSON announce message for HEAD published by PEER at ADDRS (multiaddrs, no /p2p)."""
    binary = [base64.b64encode(to_bytes(with_peer(a, peer))).decode("ascii") for a in addrs]
    message = {"Cid": {"/": str(head)}, "Addrs": binary, "ExtraData": None, "OrigPeer": ""}
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


class Announcer:
    """Announces new heads of PEER's chain, served at ADDRS, to the indexers at URLS."""

    def __init__(self, session: aiohttp.ClientSession, urls: Sequence[str], peer: str,
                 addrs: Sequence[str], *, attempts: int = 6, first_delay: float = 2.0,
                 max_delay: float = 300.0, timeout: float = 30.0) -> None:
        self.session = session
        self.urls = list(dict.fromkeys(announce_url(u) for u in urls))
        self.peer, self.addrs = peer, list(addrs)
        self.attempts, self.first_delay, self.max_delay = attempts, first_delay, max_delay
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.sent: dict[str, CID] = {}            # the last head each indexer accepted
        self._latest: CID | None = None
        self._wake: dict[str, asyncio.Event] = {url: asyncio.Event() for url in self.urls}
        self._tasks: list[asyncio.Task[None]] = []

    def notify(self, head: CID) -> None:
        """Announce HEAD soon (returns at once; starts the workers on first use)."""
        self._latest = head
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._work(url)) for url in self.urls]
        for event in self._wake.values():
            event.set()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _work(self, url: str) -> None:
        while True:
            await self._wake[url].wait()
            self._wake[url].clear()
            head = self._latest
            if head is None or self.sent.get(url) == head:
                continue
            await self._deliver(url, head)

    async def _deliver(self, url: str, head: CID) -> None:
        delay = self.first_delay
        for attempt in range(1, self.attempts + 1):
            wait = await self._send(url, head)
            if wait is None:
                self.sent[url] = head
                return
            if attempt == self.attempts or self._latest != head:
                break
            if await wait_event(self._wake[url], min(max(wait, delay), self.max_delay)):
                return                   # a newer head ends the wait: it replaces this one
            delay = min(delay * 2, self.max_delay)
        log.info("announce of %s to %s given up", head, url)

    async def _send(self, url: str, head: CID) -> float | None:
        """PUT the announce; None when accepted, else the seconds the indexer asked us to wait."""
        body = announce_body(head, self.peer, self.addrs)
        try:
            async with self.session.put(url, data=body, timeout=self.timeout,
                                        headers={"Content-Type": "application/json"},
                                        allow_redirects=False) as resp:
                answer = await resp.content.read(MAX_ANSWER)
                if 200 <= resp.status < 300:
                    return None
                log.info("announce to %s: HTTP %s %s", url, resp.status, answer[:200])
                return _retry_after(resp.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("announce to %s failed: %s", url, exc)
            return 0.0


def _retry_after(value: str | None) -> float:
    if value is not None and value.strip().isdigit() and len(value) < 10:
        return float(value.strip())
    return 0.0
