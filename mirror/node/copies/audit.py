"""Audits: challenge a holder to prove, with a fresh nonce, that it holds the blocks it claims.

The challenger picks a content the holder announces *and that it holds itself*, samples random
blocks of its DAG (random root-to-leaf walks, each link chosen in proportion to the bytes under
it, so every byte of the file is equally likely to be checked), and sends a fresh random nonce.
The holder answers ``sha256(nonce || block bytes)`` for each block, signed with its node key::

    POST /api/v1/audit   {"cid": ROOT, "blocks": [CID, …] (1..16), "nonce": "<64 hex>"}
    200                  {"node_id", "cid", "nonce", "blocks", "proofs": ["<64 hex>" | null, …],
                          "signature": base64 Ed25519(key, "openmirror-audit-v1\\n" || P)}

where ``P`` is the canonical JSON of ``{"blocks", "cid", "node_id", "nonce", "proofs"}``. The answer
can only be computed with the block bytes at hand (the nonce is new, so nothing can be
precomputed), and the signature ties it to the holder's key: pointing a claim at another node's URL
does not pass. A holder can still fetch the blocks from elsewhere while it is being challenged;
the answer deadline (``AUDIT_TIMEOUT``) bounds that, as in every proof-of-retrievability scheme
without trusted hardware.

Answering costs the holder reading and hashing the blocks, so what anyone can make it do is
bounded: at most ``MAX_BLOCKS`` blocks and ``MAX_AUDIT_BYTES`` bytes per challenge (413 beyond),
``AUDIT_RATE`` challenges per second per address, and ``AUDIT_BYTES_RATE`` bytes per second
(``AUDIT_BYTES_BURST`` at once) per /24 or /64 prefix (429 with Retry-After beyond). An honest
challenger holds the content (or fetched the walk) and hashes the same bytes to know the answer;
one that does not cannot make the holder work faster than its network's budget.

A challenger that does *not* hold the content audits the claims it relies on too, sampled
(``audit_remote``, ``remote_audit_targets``: unvetted holders first, a content bound here to a
verified CID): it asks the holder's gateway for one random root-to-leaf walk (``fetch_block``,
every block verified against its CID), then challenges the holder over those blocks as above, so
the answer is signed by the announced key. This proves retrievability at the cost of moving one
walk of blocks; a key that cannot serve what it claims fails.

Outcomes: ``passed`` (every proof right and signed by the announced node), ``failed`` (a wrong or
missing proof, a bad signature), ``unreachable`` (no valid answer in time: it cannot serve the
content either, so it is recorded like a failure), ``skipped`` (the holder asked us to slow down;
nothing recorded). A failure stops the holder counting as a copy of that content, and of every
content while its latest audit is a failure (``indexer.copies``); the planner then
re-replicates. A later passed audit restores it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import os
import random
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from indexer import audits as audit_rows
from indexer.index import Index
from mirror.errors import BlockNotFound, IntegrityError, InvalidCID
from mirror.feed.entry import encode_payload
from mirror.feed.identity import Identity, is_node_id
from mirror.node.copies.blockfetch import Missing, PeerFailed, PeerLied, fetch_block
from mirror.node.copies.census import live_cutoff
from mirror.node.http import Problem, bad_request, check_rate, read_json
from mirror.node.limits import PrefixBudget, RateLimiter
from mirror.store import ContentStore
from mirror.store.blockstore import BlockStore
from mirror.store.cid import CID, DAG_PB, IDENTITY
from mirror.store.dagpb import decode_node
from indexer.clock import entry_time

SIGNING_CONTEXT = b"openmirror-audit-v1\n"
MAX_BLOCKS = 16                   # blocks per challenge (at most 32 MiB to hash for the holder)
NONCE_BYTES = 32
AUDIT_TIMEOUT = 30.0              # seconds a holder has to answer
AUDIT_RATE, AUDIT_BURST = 1.0, 8  # challenges per second one address may send, and at once
MAX_AUDIT_BYTES = 16 << 20        # block bytes one challenge may make the holder read and hash
AUDIT_BYTES_RATE = 1 << 20        # block bytes per second the challenges of one /24 or /64 may cost
AUDIT_BYTES_BURST = 64 << 20      # ... and at once
MAX_REQUEST = 8 << 10
MAX_RESPONSE = 16 << 10
MAX_DEPTH = 64                    # a sampled walk deeper than this is not a UnixFS file
PARALLEL_AUDITS = 4
REMOTE_AUDITS = 2                 # claims on contents not held here audited per round


@dataclass(frozen=True)
class Holder:
    """What answering audits takes: the blocks, the key that signs the answers, a rate limit per
    address (and prefix), and a budget of bytes hashed per address prefix."""

    store: ContentStore
    identity: Identity
    limiter: RateLimiter
    budget: PrefixBudget


HOLDER: web.AppKey[Holder] = web.AppKey("openmirror_audit_holder", Holder)


@dataclass(frozen=True)
class AuditResult:
    """A holder's answer: one proof per block (None: it says it lacks the block)."""

    node_id: str
    proofs: list[bytes | None]
    signed: bool                  # the signature is NODE_ID's over exactly what we asked


@dataclass(frozen=True)
class AuditOutcome:
    author: str
    url: str
    sha256: str
    cid: str
    status: str                   # passed | failed | unreachable | skipped
    detail: str = ""
    blocks: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "passed"


# -- the challenger ------------------------------------------------------------------------------

def sample_blocks(blocks: BlockStore, root: CID, count: int, rng: random.Random) -> list[CID]:
    """Up to COUNT distinct blocks of the DAG under ROOT, each the end of a random root-to-leaf
    walk weighted by the bytes under each link. Reads only the nodes on the walks."""
    found: dict[bytes, CID] = {}
    for _ in range(count * 2):
        if len(found) >= count:
            break
        cid = root
        for _depth in range(MAX_DEPTH):
            if cid.codec != DAG_PB:
                break
            links = decode_node(blocks.get(cid)).links
            if not links:
                break
            pick = rng.choices(links, weights=[max(1, link.tsize) for link in links])[0]
            cid = CID.from_bytes(pick.hash)
        found.setdefault(cid.multihash, cid)
    return list(found.values())


def proof(nonce: bytes, block: bytes) -> bytes:
    """What a holder of BLOCK answers to NONCE."""
    return hashlib.sha256(nonce + block).digest()


def signed_payload(node_id: str, cid: str, nonce: bytes, blocks: list[str],
                   proofs: list[bytes | None]) -> bytes:
    """The bytes a holder signs (after ``SIGNING_CONTEXT``)."""
    return encode_payload({"node_id": node_id, "cid": cid, "nonce": nonce.hex(), "blocks": blocks,
                           "proofs": [None if p is None else p.hex() for p in proofs]})


async def challenge(session: aiohttp.ClientSession, holder_url: str, cid: str, blocks: list[str],
                    nonce: bytes, *, timeout: float = AUDIT_TIMEOUT) -> AuditResult:
    """Send one challenge; raises ``AuditUnanswered`` when no well-formed answer came in time."""
    body = {"cid": cid, "blocks": blocks, "nonce": nonce.hex()}
    try:
        async with session.post(f"{holder_url.rstrip('/')}/api/v1/audit", json=body,
                                timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            if resp.status == 429:
                raise AuditUnanswered("the holder asks to slow down", busy=True)
            if resp.status != 200:
                raise AuditUnanswered(f"HTTP {resp.status}")
            data = await resp.content.read(MAX_RESPONSE + 1)
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise AuditUnanswered(f"{type(exc).__name__}: {str(exc)[:120]}") from None
    return _read_answer(data, cid, blocks, nonce)


class AuditUnanswered(Exception):
    """No usable answer (``busy``: the holder rate-limited us)."""

    def __init__(self, message: str, *, busy: bool = False) -> None:
        super().__init__(message)
        self.busy = busy


def _read_answer(data: bytes, cid: str, blocks: list[str], nonce: bytes) -> AuditResult:
    try:
        obj = _json_object(data)
        node_id, proofs = obj["node_id"], [_proof(p) for p in obj["proofs"]]
        signature = base64.b64decode(obj["signature"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise AuditUnanswered("malformed answer") from None
    if not is_node_id(node_id) or len(proofs) != len(blocks):
        raise AuditUnanswered("malformed answer")
    payload = signed_payload(node_id, cid, nonce, blocks, proofs)
    return AuditResult(node_id, proofs, Identity.verify(node_id, SIGNING_CONTEXT + payload, signature))


def _json_object(data: bytes) -> dict[str, Any]:
    if len(data) > MAX_RESPONSE:
        raise ValueError("answer too long")
    obj = json.loads(data)
    if not isinstance(obj, dict) or not isinstance(obj.get("proofs"), list):
        raise ValueError("not an answer")
    return obj


def _proof(value: Any) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) != 64:
        raise ValueError("not a proof")
    return bytes.fromhex(value)


async def audit_holder(session: aiohttp.ClientSession, store: ContentStore, *, author: str, url: str,
                       sha256: str, cid: str, samples: int = 4,
                       rng: random.Random | None = None) -> AuditOutcome:
    """Challenge the holder AUTHOR at URL over SAMPLES random blocks of CID (held here)."""
    rng = rng or random.SystemRandom()
    nonce = os.urandom(NONCE_BYTES)
    chosen, expected = await asyncio.to_thread(_expect, store, cid, min(samples, MAX_BLOCKS), nonce, rng)
    outcome = AuditOutcome(author, url, sha256, cid, "passed", blocks=len(chosen))
    return await _challenge(session, outcome, chosen, expected, nonce)


async def audit_remote(session: aiohttp.ClientSession, *, author: str, url: str, sha256: str,
                       cid: str, samples: int = 4, rng: random.Random | None = None) -> AuditOutcome:
    """Audit the claim of AUTHOR at URL on CID, a content not held here: one random walk of its
    DAG from the holder's gateway, every block verified, then a challenge over SAMPLES of them."""
    rng = rng or random.SystemRandom()
    outcome = AuditOutcome(author, url, sha256, cid, "passed")
    try:
        walk = await _walk_remote(session, url, CID.decode(cid), rng)
    except Missing as exc:
        return _replace(outcome, "failed", f"does not serve a block it claims: {exc}")
    except (PeerLied, IntegrityError) as exc:
        return _replace(outcome, "failed", f"served wrong bytes: {exc}")
    except PeerFailed as exc:
        return _replace(outcome, "skipped" if exc.busy else "unreachable", str(exc)[:200])
    chosen = walk[-min(samples, MAX_BLOCKS):]
    nonce = os.urandom(NONCE_BYTES)
    outcome = AuditOutcome(author, url, sha256, cid, "passed", blocks=len(chosen))
    return await _challenge(session, outcome, [c for c, _ in chosen],
                            [proof(nonce, block) for _, block in chosen], nonce)


async def _walk_remote(session: aiohttp.ClientSession, url: str, root: CID,
                       rng: random.Random) -> list[tuple[CID, bytes]]:
    """(CID, verified block) of one root-to-leaf walk fetched from URL's gateway, each link chosen
    in proportion to the bytes under it."""
    walk: list[tuple[CID, bytes]] = []
    cid = root
    for _depth in range(MAX_DEPTH):
        block = cid.digest if cid.hash_code == IDENTITY else await fetch_block(session, url, cid, AUDIT_TIMEOUT)
        if not cid.verify(block):
            raise PeerLied(f"the bytes sent for {cid} do not hash to it")
        walk.append((cid, block))
        links = decode_node(block).links if cid.codec == DAG_PB else []
        if not links:
            break
        cid = CID.from_bytes(rng.choices(links, weights=[max(1, link.tsize) for link in links])[0].hash)
    return walk


async def _challenge(session: aiohttp.ClientSession, outcome: AuditOutcome, chosen: list[CID],
                     expected: list[bytes], nonce: bytes) -> AuditOutcome:
    """Challenge the holder of OUTCOME over CHOSEN and judge its answer against EXPECTED."""
    try:
        answer = await challenge(session, outcome.url, outcome.cid, [str(c) for c in chosen], nonce)
    except AuditUnanswered as exc:
        return _replace(outcome, "skipped" if exc.busy else "unreachable", str(exc))
    if answer.node_id != outcome.author or not answer.signed:
        return _replace(outcome, "failed", "the answer is not signed by the announced node")
    wrong = sum(1 for got, want in zip(answer.proofs, expected) if got != want)
    if wrong:
        return _replace(outcome, "failed", f"{wrong} of {len(expected)} blocks missing or wrong")
    return outcome


def _expect(store: ContentStore, cid: str, count: int, nonce: bytes,
            rng: random.Random) -> tuple[list[CID], list[bytes]]:
    chosen = sample_blocks(store.blocks, CID.decode(cid), count, rng)
    return chosen, [proof(nonce, store.blocks.get(c)) for c in chosen]


def _replace(outcome: AuditOutcome, status: str, detail: str) -> AuditOutcome:
    return AuditOutcome(outcome.author, outcome.url, outcome.sha256, outcome.cid, status, detail,
                        outcome.blocks)


async def record_outcome(index: Index, outcome: AuditOutcome) -> None:
    """Store OUTCOME (``skipped`` ones are not recorded)."""
    if outcome.status == "skipped":
        return
    async with index.transaction() as tx:
        await audit_rows.record_audit(await tx.connection(), outcome.author, outcome.sha256, outcome.ok,
                                entry_time(), outcome.detail or None)


async def audit_round(index: Index, store: ContentStore, session: aiohttp.ClientSession, *, me: str,
                      holder_timeout: float, count: int = 4, samples: int = 4,
                      remote: int = REMOTE_AUDITS) -> list[AuditOutcome]:
    """Audit COUNT claims of other nodes on contents held here (least recently audited first)
    and REMOTE claims on contents not held here (``audit_remote``), record the outcomes and
    return them. Run it every ``node.audit_interval`` seconds."""
    cutoff = live_cutoff(holder_timeout)
    async with index.read() as conn:
        targets = await audit_rows.audit_targets(conn, cutoff=cutoff, me=me, limit=count)
        far = await audit_rows.remote_audit_targets(conn, cutoff=cutoff, me=me, limit=remote,
                                              start=os.urandom(8).hex())
    gate = asyncio.Semaphore(PARALLEL_AUDITS)

    async def one(author: str, url: str, sha256: str, cid: str, held: bool) -> AuditOutcome:
        async with gate:
            try:
                outcome = await (audit_holder(session, store, author=author, url=url, sha256=sha256,
                                              cid=cid, samples=samples) if held else
                                 audit_remote(session, author=author, url=url, sha256=sha256,
                                              cid=cid, samples=samples))
            except (BlockNotFound, IntegrityError, InvalidCID) as exc:
                return AuditOutcome(author, url, sha256, cid, "skipped", f"our copy: {exc}")
        await record_outcome(index, outcome)
        return outcome

    return list(await asyncio.gather(*(one(*t, True) for t in targets),
                                     *(one(*t, False) for t in far)))


# -- the holder ----------------------------------------------------------------------------------

def audit_routes(app: web.Application, store: ContentStore, identity: Identity) -> None:
    """Register ``POST /api/v1/audit`` with its own per-address rate limit and per-prefix budget."""
    app[HOLDER] = Holder(store, identity, RateLimiter(AUDIT_RATE, AUDIT_BURST),
                         PrefixBudget(AUDIT_BYTES_RATE, AUDIT_BYTES_BURST))
    app.router.add_post("/api/v1/audit", post_audit)


def answer(store: ContentStore, blocks: list[CID], nonce: bytes) -> list[bytes | None]:
    """The proofs this node can give (None for a block it lacks or whose copy is damaged)."""
    proofs: list[bytes | None] = []
    for cid in blocks:
        try:
            proofs.append(proof(nonce, store.blocks.get(cid)))
        except (BlockNotFound, IntegrityError):
            proofs.append(None)
    return proofs


async def post_audit(request: web.Request) -> web.Response:
    holder = request.app[HOLDER]
    check_rate(request, holder.limiter, "audit", "too many audits")
    obj = await read_json(request, MAX_REQUEST)
    cid, blocks, nonce = _parse_challenge(obj)
    cids = [CID.decode(b) for b in blocks]
    _charge(request, holder, await asyncio.to_thread(bytes_held, holder.store, cids))
    proofs = await asyncio.to_thread(answer, holder.store, cids, nonce)
    me = holder.identity.node_id
    signature = holder.identity.sign(SIGNING_CONTEXT + signed_payload(me, cid, nonce, blocks, proofs))
    return web.json_response({"node_id": me, "cid": cid, "nonce": nonce.hex(), "blocks": blocks,
                              "proofs": [None if p is None else p.hex() for p in proofs],
                              "signature": base64.b64encode(signature).decode("ascii")})


def bytes_held(store: ContentStore, blocks: list[CID]) -> int:
    """The bytes answering for BLOCKS would read and hash (blocks not held cost nothing)."""
    total = 0
    for cid in blocks:
        try:
            total += store.blocks.size(cid)
        except BlockNotFound:
            pass
    return total


def _charge(request: web.Request, holder: Holder, cost: int) -> None:
    """Refuse a challenge over ``MAX_AUDIT_BYTES`` (413) or beyond the prefix's budget (429)."""
    if cost > MAX_AUDIT_BYTES:
        raise bad_request(f"an audit may cover at most {MAX_AUDIT_BYTES} bytes of blocks", 413, "too_large")
    wait = holder.budget.charge(request.remote or "?", cost)
    if wait > 0:
        raise Problem(429, "too many audited bytes from your network", code="rate_limited",
                      headers={"Retry-After": str(max(1, round(wait)))})


def _parse_challenge(obj: dict[str, Any]) -> tuple[str, list[str], bytes]:
    cid, blocks, nonce = obj.get("cid"), obj.get("blocks"), obj.get("nonce")
    if not isinstance(blocks, list) or not 1 <= len(blocks) <= MAX_BLOCKS:
        raise bad_request(f"blocks must list 1 to {MAX_BLOCKS} CIDs")
    if not isinstance(nonce, str) or not 32 <= len(nonce) <= 128:
        raise bad_request("nonce must be 16 to 64 bytes in hex")
    try:
        for text in [cid, *blocks]:
            if not isinstance(text, str) or len(text) > 200:
                raise bad_request("not a CID")
            CID.decode(text)
        return cid, blocks, bytes.fromhex(nonce)  # type: ignore[return-value]
    except (InvalidCID, ValueError):
        raise bad_request("not a CID, or the nonce is not hex") from None
