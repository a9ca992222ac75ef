"""Holdings announcements: a node's signed, compact statement of which contents it holds.

Every node can verify and relay them, and keeps the newest per node; they are how a node estimates
the live copies of every content (``indexer.copies``). They are not feed entries: only the
latest matters, so they are replaced, never appended.

An announcement is a small signed *payload* plus a *held set* named by its sha256::

    payload   = canonical JSON (sorted keys, compact, UTF-8, integers only) of
                {"v": 1, "kind": "announce", "author": "om…", "seq": N, "ts": "…Z",
                 "body": {"url": "http://…", "storage_budget": B, "storage_used": U,
                          "held": {"format": "sha256-prefix-8", "count": K,
                                   "sha256": "<64 hex>", "size": S}}}
    signature = Ed25519(author key, "openmirror-announce-v1\\n" || payload)

and the held set is encoded by ``mirror.node.copies.heldset``. The set travels apart from the
payload and is fetched only when its hash is new, so a node re-announcing to show it is alive (a
new ``seq``, same set) costs ~600 bytes, and so does a heartbeat here: a node whose held contents
did not change signs its stored set again instead of reading them.

``seq`` grows with every announcement of an author: ``next_seq`` takes the greater of the last
seq + 1 and the current Unix time in milliseconds, so it keeps growing even after a node lost its
index. A reader keeps the announcement with the greatest seq and ignores older or equal ones.
An announcement whose ``ts`` is more than ``MAX_CLOCK_SKEW`` ahead is refused; a holder counts as
live from ``min(ts, time received)`` for ``node.holder_timeout`` seconds.

HTTP (registered by ``holdings_routes(app, index, node_id)``; ``mirror.node.copies.spread`` adds
the push, ``POST /api/v1/holdings``)::

    GET /api/v1/holdings?after=NODE_ID&limit=N   {"node_id", "announcements": [{"payload",
                                                  "signature"} base64], "more"}, by author
    GET /api/v1/holdings/sets/{sha256 hex}       the held set bytes (application/octet-stream)

``pull_holdings`` reads a peer's list, verifies every announcement, fetches the sets it lacks
(verified against their hash) and stores the newer ones; ``publish_holdings`` signs this node's.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable, Iterable

import aiohttp
from aiohttp import web

from indexer import copies as rows
from indexer.copies import HoldingRow, HoldingsQuota
from indexer.index import Index
from mirror.errors import PeerError, SignatureError, UsageError
from mirror.node.http import bad_request, int_param
from mirror.node.sync.client import PeerClient
from mirror.feed.entry import encode_payload
from mirror.feed.identity import SIGNATURE_SIZE, Identity, is_node_id
from indexer.clock import entry_time
from mirror.node.copies.census import live_cutoff
from mirror.settings import Settings
from mirror.node.copies.heldset import (MAX_HELD, MAX_SET_BYTES, HeldSetWriter, decode_held, encode_held,
                                        prefix_of, prefix_texts)

__all__ = ["Announcement", "decode_held", "encode_held", "make_announcement", "parse_announcement",
           "prefix_of", "publish_holdings", "pull_holdings", "sign_announcement"]

SIGNING_CONTEXT = b"openmirror-announce-v1\n"
SET_FORMAT = "sha256-prefix-8"
PROTOCOL_VERSION = 1
MAX_PAYLOAD = 4096
MAX_URL = 2048
MAX_INT = (1 << 53) - 1
MAX_CLOCK_SKEW = 300.0               # seconds an announcement's ts may be ahead of ours
PAGE = 100                           # announcements per listing page (at most PAGE_MAX)
PAGE_MAX = 500
MAX_PULLED = 10_000                  # announcements read from one peer in one pull
HELD_PAGE = 5_000                    # held contents read at a time to make a set
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_KEYS = frozenset(("v", "kind", "author", "seq", "ts", "body"))
_BODY_KEYS = frozenset(("url", "storage_budget", "storage_used", "held"))
_HELD_KEYS = frozenset(("format", "count", "sha256", "size"))


@dataclass(frozen=True)
class Announcement:
    """One announcement: ``payload`` and ``signature`` are the truth, the rest is parsed from them."""

    payload: bytes
    signature: bytes
    author: str
    seq: int
    ts: str
    url: str
    budget: int
    used: int
    count: int
    set_hash: bytes
    set_size: int

    def to_wire(self) -> dict[str, str]:
        return {"payload": _b64(self.payload), "signature": _b64(self.signature)}

    def row(self, set_data: bytes, received: str) -> HoldingRow:
        """The stored form; the holder counts as seen at min(ts, RECEIVED)."""
        return HoldingRow(author=self.author, seq=self.seq, ts=self.ts, seen_at=min(self.ts, received),
                          url=self.url, budget=self.budget, used=self.used, count=self.count,
                          set_hash=self.set_hash, set_data=set_data, payload=self.payload,
                          signature=self.signature)


# -- making and reading announcements ------------------------------------------------------------

def next_seq(previous: int) -> int:
    """The seq of a node's next announcement (see the module docstring)."""
    return min(MAX_INT, max(previous + 1, int(time.time() * 1000)))


def make_announcement(identity: Identity, *, seq: int, url: str, budget: int, used: int,
                      held: Iterable[str], ts: str | None = None) -> tuple[Announcement, bytes]:
    """Sign an announcement of IDENTITY holding the contents HELD (sha256 hex); returns it and
    its held-set bytes. A bad argument raises ``UsageError``."""
    held_list = list(held)
    data = encode_held(held_list)
    count = len({prefix_of(s) for s in held_list})
    return sign_announcement(identity, seq=seq, url=url, budget=budget, used=used, data=data,
                             count=count, ts=ts), data


def sign_announcement(identity: Identity, *, seq: int, url: str, budget: int, used: int, data: bytes,
                      count: int, ts: str | None = None) -> Announcement:
    """Sign an announcement of IDENTITY whose held set is DATA (COUNT prefixes)."""
    body = {"url": url, "storage_budget": budget, "storage_used": used,
            "held": {"format": SET_FORMAT, "count": count, "sha256": hashlib.sha256(data).hexdigest(),
                     "size": len(data)}}
    obj = {"v": PROTOCOL_VERSION, "kind": "announce", "author": identity.node_id, "seq": seq,
           "ts": ts or entry_time(), "body": body}
    payload = encode_payload(obj)
    try:
        return parse_announcement(payload, identity.sign(SIGNING_CONTEXT + payload))
    except PeerError as exc:
        raise UsageError(f"cannot make an announcement: {exc}") from None


def parse_announcement(payload: bytes, signature: bytes, *, now: datetime | None = None) -> Announcement:
    """Check one announcement from anywhere: strict form (``PeerError``), then its signature
    (``SignatureError``). The held set is checked apart, against ``set_hash``."""
    if type(payload) is not bytes or type(signature) is not bytes:
        raise PeerError("announcement payload and signature must be bytes")
    if not 0 < len(payload) <= MAX_PAYLOAD or len(signature) != SIGNATURE_SIZE:
        raise PeerError("announcement payload or signature has the wrong size")
    try:
        obj = json.loads(payload)
        canonical = encode_payload(obj) == payload
    except (ValueError, RecursionError, UsageError):
        raise PeerError("announcement payload is not JSON") from None
    problem = None if canonical else "payload is not canonical JSON"
    problem = problem or _check(obj, now or datetime.now(timezone.utc))
    if problem:
        raise PeerError(f"announcement: {problem}")
    if not Identity.verify(obj["author"], SIGNING_CONTEXT + payload, signature):
        raise SignatureError(f"announcement {obj['author']}#{obj['seq']}: bad signature")
    body, held = obj["body"], obj["body"]["held"]
    return Announcement(payload=payload, signature=signature, author=obj["author"], seq=obj["seq"],
                        ts=obj["ts"], url=body["url"], budget=body["storage_budget"],
                        used=body["storage_used"], count=held["count"],
                        set_hash=bytes.fromhex(held["sha256"]), set_size=held["size"])


def _check(obj: Any, now: datetime) -> str | None:
    if type(obj) is not dict or obj.keys() != _KEYS:
        return f"keys must be exactly {sorted(_KEYS)}"
    if obj["v"] != PROTOCOL_VERSION or obj["kind"] != "announce":
        return "unsupported version or kind"
    if not is_node_id(obj["author"]) or not _count(obj["seq"], 1, MAX_INT):
        return "bad author or seq"
    problem = _check_ts(obj["ts"], now)
    body = obj["body"]
    if problem or type(body) is not dict or body.keys() != _BODY_KEYS:
        return problem or f"body keys must be exactly {sorted(_BODY_KEYS)}"
    url, held = body["url"], body["held"]
    if type(url) is not str or not url.startswith(("http://", "https://")) or len(url) > MAX_URL:
        return "url is not an http(s) URL"
    if not (_count(body["storage_budget"], 0, MAX_INT) and _count(body["storage_used"], 0, MAX_INT)):
        return "storage figures must be integers"
    if type(held) is not dict or held.keys() != _HELD_KEYS or held["format"] != SET_FORMAT:
        return f"held must be a {SET_FORMAT} set"
    digest = held["sha256"]
    if type(digest) is not str or len(digest) != 64 or digest.strip("0123456789abcdef"):
        return "held.sha256 is not 64 lower-case hex chars"
    if not (_count(held["count"], 0, MAX_HELD) and _count(held["size"], 1, MAX_SET_BYTES)):
        return "held count or size out of bounds"
    return None


def _count(value: Any, lo: int, hi: int) -> bool:
    return type(value) is int and lo <= value <= hi


def _check_ts(ts: Any, now: datetime) -> str | None:
    try:
        moment = datetime.strptime(ts, _TS_FORMAT).replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return "ts is not a timestamp"
    if entry_time(moment) != ts:
        return "ts is not in canonical form"
    if moment > now + timedelta(seconds=MAX_CLOCK_SKEW):
        return "ts is in the future"
    return None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: Any, limit: int) -> bytes:
    if type(text) is not str or len(text) > limit * 4 // 3 + 4:
        raise PeerError("announcement field is not base64 of the right size")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise PeerError("announcement field is not base64") from None


# -- publishing and pulling ----------------------------------------------------------------------

async def publish_holdings(index: Index, identity: Identity, *, url: str, budget: int, used: int,
                           ts: str | None = None, same_set: bool = False) -> Announcement:
    """Sign and store this node's announcement of what it holds now (``held_contents``).

    Call it when the held set changed and at least every ``node.holder_timeout / 3`` seconds (a
    heartbeat). With SAME_SET (the caller knows nothing held changed since the last one) the
    stored set is signed again; else the held contents are read a page at a time, in sha256
    order, into a new set. Peers get it with their next ``pull_holdings``, or pushed
    (``mirror.node.copies.spread``).
    """
    async with index.read() as conn:
        previous = await rows.get_holding(conn, identity.node_id)
    seq = next_seq(previous.seq if previous else 0)
    if same_set and previous is not None:
        data, count = previous.set_data, previous.count
    else:
        data, count = await held_set(index)
    announcement = await asyncio.to_thread(sign_announcement, identity, seq=seq, url=url, budget=budget,
                                           used=used, data=data, count=count, ts=ts)
    same = previous is not None and previous.set_hash == announcement.set_hash
    async with index.transaction() as tx:            # no prefixes of our own: nothing reads them
        await rows.put_holding(await tx.connection(), announcement.row(data, announcement.ts),
                               None if same else ())
    return announcement


async def held_set(index: Index) -> tuple[bytes, int]:
    """The held set of the contents marked held in INDEX, and its count, read a page at a time."""
    writer, after = HeldSetWriter(), ""
    while True:
        async with index.read() as conn:
            page = await rows.held_sha256s_after(conn, after, HELD_PAGE)
        if page:
            await asyncio.to_thread(writer.add, page)
        if len(page) < HELD_PAGE:
            return await asyncio.to_thread(writer.finish), writer.count
        after = page[-1]


async def pull_holdings(session: aiohttp.ClientSession, peer_url: str, index: Index, *,
                        limit: int = MAX_PULLED, room: Callable[[], HoldingsQuota] | None = None) -> int:
    """Fetch the announcements PEER_URL knows, keep those newer than ours; returns how many.

    Every announcement is verified before anything is stored; a malformed or forged one raises
    ``PeerError``/``SignatureError`` (the peer should be backed off) and nothing of that page is
    stored. Sets are fetched only when their hash is new here. ROOM: the holdings quota
    (``store_announcement``).
    """
    client = PeerClient(session, peer_url.rstrip("/"))
    after, stored, read = "", 0, 0
    while read < limit:                         # announcements read, stored or not: a bound
        obj = await client.get_json("/api/v1/holdings", {"after": after, "limit": str(PAGE)})
        page = await asyncio.to_thread(_parse_page, obj)
        read += len(page)
        stored += await _store_newer(client, index, page, room)
        if not obj.get("more") or not page:
            return stored
        if page[-1].author <= after:
            raise PeerError(f"{peer_url}: holdings list out of order")
        after = page[-1].author
    return stored


def _parse_page(obj: dict[str, Any]) -> list[Announcement]:
    items = obj.get("announcements")
    if not isinstance(items, list) or len(items) > PAGE_MAX:
        raise PeerError("holdings list lacks its announcements or is too long")
    page = []
    for item in items:
        if not isinstance(item, dict):
            raise PeerError("holdings list item is not an object")
        page.append(parse_announcement(unb64(item.get("payload"), MAX_PAYLOAD),
                                       unb64(item.get("signature"), SIGNATURE_SIZE)))
    authors = [a.author for a in page]
    if authors != sorted(set(authors)):
        raise PeerError("holdings list is not sorted by author")
    return page


async def _store_newer(client: PeerClient, index: Index, page: list[Announcement],
                       room: Callable[[], HoldingsQuota] | None) -> int:
    async with index.read() as conn:
        known = await rows.known_seqs(conn, [a.author for a in page])
    count = 0
    for ann in page:                        # one at a time: at most one held set in memory
        stored = known.get(ann.author, (0, b""))
        if ann.seq > stored[0]:
            count += await store_announcement(index, ann, fetch=lambda a: fetch_set(client, a),
                                              same=stored[1] == ann.set_hash,
                                              room=None if room is None else room())
    return count


async def store_announcement(index: Index, ann: Announcement, *,
                             fetch: Callable[[Announcement], Awaitable[bytes]] | None,
                             same: bool = False, room: HoldingsQuota | None = None) -> bool:
    """Store the verified announcement ANN unless a newer one is stored, or the holdings quota
    ROOM has no room for it (``indexer.copies.put_holding``); its held set is the one stored
    under its hash, else what FETCH returns (verified against the hash; None: the set must be
    known here, ``PeerError`` otherwise). SAME: the author's stored claims are this set. The
    announced size of the set is checked against ROOM before it is fetched."""
    if room is not None and room.quota > 0 and ann.count * rows.CLAIM_BYTES + ann.set_size > room.quota:
        return False
    async with index.read() as conn:
        data = await rows.set_data(conn, ann.set_hash)
    if data is None:
        if fetch is None:
            raise PeerError(f"the held set {ann.set_hash.hex()[:16]}… is not known here")
        data = await fetch(ann)
    prefixes = None if same else prefix_texts(await asyncio.to_thread(decode_held, data, ann.count))
    async with index.transaction() as tx:
        return await rows.put_holding(await tx.connection(), ann.row(data, entry_time()), prefixes, room)


async def fetch_set(client: PeerClient, ann: Announcement) -> bytes:
    url = f"{client.url}/api/v1/holdings/sets/{ann.set_hash.hex()}"
    try:
        async with client.session.get(url) as resp:
            if resp.status != 200:
                raise PeerError(f"{url}: HTTP {resp.status}")
            data = await _read_at_most(resp, ann.set_size)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise PeerError(f"{url}: {type(exc).__name__}: {str(exc)[:200]}") from exc
    if len(data) != ann.set_size or hashlib.sha256(data).digest() != ann.set_hash:
        raise PeerError(f"{url}: held set does not match its announced hash")
    return data


async def _read_at_most(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    body = bytearray()
    async for chunk in resp.content.iter_chunked(1 << 16):
        body += chunk
        if len(body) > limit:
            raise PeerError(f"{resp.url}: body longer than the announced {limit} bytes")
    return bytes(body)


async def note_contact(index: Index, node_id: str, at: str | None = None) -> None:
    """Record that NODE_ID answered us (a sync, a block): it counts as live from AT (now)."""
    async with index.transaction() as tx:
        await rows.mark_seen(await tx.connection(), node_id, at or entry_time())


def holdings_room(settings: Settings, me: str) -> HoldingsQuota:
    """The holdings quota of the node ME now: ``node.holdings_quota`` bytes, holders silent for
    ``node.holder_timeout`` evicted first, ME and ``node.accept_authors`` never."""
    return HoldingsQuota(int(settings.node.holdings_quota),
                         live_cutoff(float(settings.node.holder_timeout)),
                         frozenset({me, *settings.node.accept_authors}))


async def forget_silent(index: Index, older_than: float) -> int:
    """Forget the announcements of nodes not seen for OLDER_THAN seconds (they are no longer
    relayed); returns how many."""
    moment = datetime.now(timezone.utc) - timedelta(seconds=older_than)
    async with index.transaction() as tx:
        return await rows.prune_holdings(await tx.connection(), entry_time(moment))


# -- HTTP ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Relay:
    """What serving announcements takes: the index that keeps them and this node's id."""

    index: Index
    node_id: str


RELAY: web.AppKey[Relay] = web.AppKey("openmirror_holdings", Relay)


def holdings_routes(app: web.Application, index: Index, node_id: str) -> None:
    """Register ``GET /api/v1/holdings`` and ``GET /api/v1/holdings/sets/{hash}``."""
    app[RELAY] = Relay(index, node_id)
    app.router.add_get("/api/v1/holdings", get_holdings)
    app.router.add_get("/api/v1/holdings/sets/{hash}", get_set)


async def get_holdings(request: web.Request) -> web.Response:
    relay = request.app[RELAY]
    after = request.query.get("after", "")
    if len(after) > 64:
        raise bad_request("after is not a node id")
    limit = int_param(request, "limit", PAGE, 1, PAGE_MAX)
    async with relay.index.read() as conn:
        found = await rows.list_holdings(conn, after=after, limit=limit + 1)
    items = [{"payload": _b64(r.payload), "signature": _b64(r.signature)} for r in found[:limit]]
    return web.json_response({"node_id": relay.node_id, "announcements": items,
                              "more": len(found) > limit})


async def get_set(request: web.Request) -> web.Response:
    relay = request.app[RELAY]
    text = request.match_info["hash"]
    if len(text) != 64 or text.strip("0123456789abcdef"):
        raise bad_request("not a sha256 in lower-case hex")
    async with relay.index.read() as conn:
        data = await rows.set_data(conn, bytes.fromhex(text))
    if data is None:
        raise bad_request("no such held set here", 404, "not_found")
    return web.Response(body=data, content_type="application/octet-stream",
                        headers={"Cache-Control": "public, max-age=31536000, immutable"})
