"""Pushed holdings announcements (protocol §11): a node that holds something new says so at once.

    spread = Spread(index, book, session, me=node_id, url=node.public_url, stored=upkeep.wake,
                    spawn=node.spawn)
    await spread.push(announcement)      # ours, after it was published with a changed held set
    spread_routes(app, spread)           # POST /api/v1/holdings

Pulled after every sync (``holdings.pull_holdings``), an announcement reaches the other nodes one
sync interval (a minute) after it was made, and a content waits that long to be counted; pushed,
it takes a round trip. The push is only a faster way to hand over the same signed message: it
is verified exactly like a pulled one, and trusted for nothing more.

**Receiving** ``POST /api/v1/holdings`` ``{"payload", "signature" (base64), "origin": URL | null}``
(at most ``MAX_PUSH`` bytes, ``PUSH_RATE`` per second per sender address in bursts of
``PUSH_BURST``, else 429): the announcement is parsed and its signature verified before anything
else (400 otherwise), then 202. In the background, one at a time, an announcement newer than the
one stored for its author is kept: its held set is the one stored under its hash, else it is
fetched from ORIGIN (only when ORIGIN is a peer of this node, not backed off) and checked against
the hash, as a pulled one. Pending pushes are coalesced per author (the greatest seq wins) and at
most ``MAX_PENDING`` authors wait. A stored push wakes replication and is relayed to our peers,
except the one it came from and its author.

**Sending**: an outbox per peer holding the latest announcement per author, one request in
flight per peer; a 429/503 waits its Retry-After (at most ``RETRY_CAP`` s, ``MAX_RETRIES`` times)
and tries again; another failure empties that peer's box (its next sync pulls what it missed).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Coroutine, Iterable

import aiohttp
from aiohttp import web

from indexer import copies as rows
from indexer.copies import HoldingsQuota
from indexer.index import Index
from mirror.errors import IntegrityError, MirrorError, PeerError, UsageError
from mirror.feed.identity import SIGNATURE_SIZE
from mirror.node.copies import holdings
from mirror.node.copies.holdings import MAX_PAYLOAD, Announcement
from mirror.node.http import bad_request, check_rate, read_json
from mirror.node.limits import MAX_URL, RateLimiter
from mirror.node.sync.client import PeerClient, PeerRetryLater
from mirror.node.sync.peers import PeerBook, normalize_url, reachable_from

log = logging.getLogger(__name__)
MAX_PUSH = 8 << 10            # a push body: a payload of at most 4 KiB, base64, and a URL
PUSH_RATE, PUSH_BURST = 5.0, 40
MAX_PENDING = 1_000           # authors whose pushed announcement waits to be stored
RETRY_CAP = 10.0              # seconds a sender waits on a 429 before it tries again
MAX_RETRIES = 5
SEND_TIMEOUT = 10.0

Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]


class Spread:
    """Pushes of the node ME (reached at URL while it serves) to and from its peers in BOOK;
    STORED is told when a pushed announcement was stored; nothing is sent while ENABLED says no
    (``node.push``), though pushes are still received."""

    def __init__(self, index: Index, book: PeerBook, session: aiohttp.ClientSession, *, me: str,
                 url: Callable[[], str | None], stored: Callable[[], None], spawn: Spawn,
                 enabled: Callable[[], bool] = lambda: True,
                 room: Callable[[], HoldingsQuota] | None = None) -> None:
        self.index, self.book, self.session, self.me = index, book, session, me
        self.room = room                          # the holdings quota (None: no limit)
        self.url, self.stored, self.spawn, self.enabled = url, stored, spawn, enabled
        self.limiter = RateLimiter(PUSH_RATE, PUSH_BURST)
        self.received_count = 0                   # pushes stored (for tests and logs)
        self._pending: dict[str, tuple[Announcement, str | None]] = {}
        self._working = False
        self._outbox: dict[str, dict[str, dict[str, Any]]] = {}

    # -- sending -------------------------------------------------------------------------------

    async def push(self, ann: Announcement, exclude: Iterable[str] = ()) -> int:
        """Queue ANN for every peer not backed off (but those in EXCLUDE); returns how many."""
        mine, skip, queued = self.url(), set(exclude), 0
        if mine is None or not self.enabled():
            return 0
        for peer in await self.book.all():
            if peer.url in skip or self.book.in_backoff(peer):
                continue
            body = ann.to_wire() | {"origin": mine if reachable_from(mine, peer.url) else None}
            box = self._outbox.get(peer.url)
            if box is None:
                self._outbox[peer.url] = {ann.author: body}
                self.spawn(self._send(peer.url))
            else:
                box[ann.author] = body
            queued += 1
        return queued

    async def _send(self, url: str) -> None:
        client = PeerClient(self.session, url)
        try:
            retries = 0
            while box := self._outbox.get(url):
                author = next(iter(box))
                body = box.pop(author)
                try:
                    await asyncio.wait_for(client.post_json("/api/v1/holdings", body), SEND_TIMEOUT)
                    retries = 0
                except PeerRetryLater as exc:
                    retries += 1
                    if retries > MAX_RETRIES:
                        return
                    box.setdefault(author, body)           # unless a newer one came meanwhile
                    await asyncio.sleep(min(RETRY_CAP, exc.retry_after or 1.0))
                except (PeerError, TimeoutError) as exc:
                    log.info("pushing holdings to %s failed: %s", url, exc)
                    return
        finally:
            self._outbox.pop(url, None)

    # -- receiving -----------------------------------------------------------------------------

    def received(self, ann: Announcement, origin: str | None) -> None:
        """A verified announcement was pushed to us by ORIGIN (a hint where its set is)."""
        if ann.author == self.me:
            return
        waiting = self._pending.get(ann.author)
        if waiting is None and len(self._pending) >= MAX_PENDING:
            return
        if waiting is None or waiting[0].seq < ann.seq:
            self._pending[ann.author] = (ann, origin)
        if not self._working:
            self._working = True
            self.spawn(self._work())

    async def _work(self) -> None:
        try:
            while self._pending:
                author = next(iter(self._pending))
                ann, origin = self._pending.pop(author)
                try:
                    await self._take(ann, origin)
                except (MirrorError, OSError) as exc:
                    log.info("pushed announcement of %s… not kept: %s", ann.author[:16], exc)
        finally:
            self._working = False

    async def _take(self, ann: Announcement, origin: str | None) -> None:
        async with self.index.read() as conn:
            seq, set_hash = (await rows.known_seqs(conn, [ann.author])).get(ann.author, (0, b""))
        if ann.seq <= seq:
            return
        source = await self._source(origin)
        fetch = None if source is None else (lambda a: holdings.fetch_set(PeerClient(self.session, source), a))
        room = None if self.room is None else self.room()
        if not await holdings.store_announcement(self.index, ann, fetch=fetch, same=set_hash == ann.set_hash,
                                                 room=room):
            return
        self.received_count += 1
        self.stored()
        await self.push(ann, exclude=[u for u in (source, _url(ann.url)) if u is not None])

    async def _source(self, origin: str | None) -> str | None:
        """ORIGIN as the URL of a peer of ours not backed off, else None."""
        url = _url(origin) if origin is not None else None
        if url is None:
            return None
        peer = await self.book.get(url)
        return url if peer is not None and not self.book.in_backoff(peer) else None


def _url(text: str) -> str | None:
    try:
        return normalize_url(text)
    except UsageError:
        return None


# -- HTTP ----------------------------------------------------------------------------------------

SPREAD: web.AppKey[Spread] = web.AppKey("openmirror_spread", Spread)


def spread_routes(app: web.Application, spread: Spread) -> None:
    """Register ``POST /api/v1/holdings`` (a pushed announcement)."""
    app[SPREAD] = spread
    app.router.add_post("/api/v1/holdings", post_holdings)


async def post_holdings(request: web.Request) -> web.Response:
    spread = request.app[SPREAD]
    check_rate(request, spread.limiter, "holdings", "too many holdings pushes")
    obj = await read_json(request, MAX_PUSH)
    origin = obj.get("origin")
    if origin is not None and (not isinstance(origin, str) or len(origin) > MAX_URL):
        raise bad_request("origin is not a URL")
    try:
        ann = holdings.parse_announcement(holdings.unb64(obj.get("payload"), MAX_PAYLOAD),
                                          holdings.unb64(obj.get("signature"), SIGNATURE_SIZE))
    except (PeerError, IntegrityError) as exc:
        raise bad_request(str(exc)) from None
    spread.received(ann, origin)
    return web.json_response({"accepted": True}, status=202)
