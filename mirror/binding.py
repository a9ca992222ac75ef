"""Content identity, verified: the claims entries make, the checks of a CID's bytes, and the
bindings they settle (``indexer.bindings`` keeps the rows; this module hashes).

    claims, checks = claims_of(documents, author)       # what a merged entry says (canonical CIDs)
    await record_claims(conn, documents, author)         # its claims, in the write transaction
    Claims(identity).attach(index)                       # the claims of every write (this node's
                                                         # own: from bytes it hashed, trusted)
    check = check_cid(store, cid)                        # reassemble and hash (worker thread)
    await check_claims(index, store, keys)               # check the claims whose DAG is complete

**The trust boundary.** A claim from another author's entry is never believed: it becomes a
binding only once the CID's bytes, reassembled from this node's blockstore (every block already
verified against its hash), are exactly the claimed sha256 and size. Claims this node makes
itself (a harvest, ``add``, which hashed the bytes they name) are checks already. A CID that does
not parse is a check too (``not a CID``), and so is a raw identity CID, whose bytes are the CID:
checked as soon as it is claimed, never fetched, counted as a copy or audited.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import Iterable
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncConnection

from indexer import bindings
from indexer.bindings import Check, Claim
from indexer.clock import entry_time
from indexer.index import Index, Transaction
from indexer.records import Change, DocumentIn
from mirror.errors import BlockCorrupted, BlockNotFound, InvalidCID, MirrorError
from mirror.feed.identity import Identity
from mirror.store import ContentStore
from mirror.store.cid import CID, IDENTITY, RAW

SETTLE_BATCH = 256           # unchecked claims looked at per pass (each costs a stat, or a read)
# CID texts whose canonical form is remembered: a merged document's CIDs are made canonical before
# it is written, and its claims read them again at commit (a pull applies up to 10,000 entries in
# one transaction); about 7 MB when full.
CANONICAL_CACHE = 1 << 15
_NOT_A_CID = "not a CID"


def canonical(text: str) -> str | None:
    """The CID's canonical text (CIDv1 in base32, CIDv0 as is), or None when it is no CID."""
    if not isinstance(text, str):
        return None
    return _canonical(text)


@functools.lru_cache(maxsize=CANONICAL_CACHE)
def _canonical(text: str) -> str | None:
    try:
        found = str(CID.decode(text))
    except (InvalidCID, ValueError):
        return None
    return text if found == text else found


def canonical_document(doc: DocumentIn) -> DocumentIn:
    """DOC with its files' CIDs in canonical form (one CID, one text), unchanged if they are."""
    fixed = [replace(c, cid=canonical(c.cid) or c.cid) for c in doc.contents]
    if all(a.cid == b.cid for a, b in zip(fixed, doc.contents)):
        return doc
    return replace(doc, contents=fixed)


def claims_of(documents: Iterable[DocumentIn], author: str) -> tuple[list[Claim], list[Check]]:
    """AUTHOR's claims in DOCUMENTS, and the checks they need no bytes for (a CID that does not
    parse; a raw identity CID, whose bytes are in it)."""
    found: list[Claim] = []
    checks: list[Check] = []
    for doc in documents:
        for c in doc.contents:
            text = canonical(c.cid)
            found.append(Claim(c.sha256.lower(), text or c.cid, int(c.size), c.profile, author))
            if text is None:
                checks.append(Check(c.cid, None, None, _NOT_A_CID))
            elif (inline := inline_check(text)) is not None:
                checks.append(inline)
    return found, checks


def inline_check(text: str) -> Check | None:
    """The check of a raw identity CID (its digest is the bytes), else None."""
    cid = CID.decode(text)
    if cid.hash_code != IDENTITY or cid.codec != RAW:
        return None
    return Check(text, hashlib.sha256(cid.digest).hexdigest(), len(cid.digest), "inline")


async def record_claims(conn: AsyncConnection, documents: list[DocumentIn], author: str, *,
                 trusted: bool = False) -> set[str]:
    """Record AUTHOR's claims in DOCUMENTS on CONN (TRUSTED: this node hashed their bytes, so
    each is also a check). Returns the sha256s whose binding changed."""
    found, checks = claims_of(documents, author)
    if trusted:                      # what needs no bytes (no CID, inline) is known already
        known = {check.cid for check in checks}
        checks += [Check(c.cid, c.sha256, c.size, "imported here") for c in found if c.cid not in known]
    return await bindings.add_claims(conn, found, entry_time(), checks)


class Claims:
    """The precommit hook that records the claims of every stored or updated document: this
    node's own writes (no origin) as claims it checked itself, others' as claims of their origin.
    (A merged document that did not change is recorded by the merge: ``record_claims``.)"""

    def __init__(self, identity: Identity) -> None:
        self.me = identity.node_id

    def attach(self, index: Index) -> None:
        index.add_precommit_hook(self.hook)

    async def hook(self, tx: Transaction, changes: list[Change]) -> None:
        by_author: dict[str | None, list[DocumentIn]] = {}
        for change in changes:
            if change.kind != "retracted":
                by_author.setdefault(change.origin, []).append(change.document)
        for origin, documents in by_author.items():
            await record_claims(await tx.connection(), documents, origin or self.me,
                                trusted=origin is None)


# -- checking bytes ------------------------------------------------------------------------------

def check_cid(store: ContentStore, text: str) -> Check | None:
    """What the bytes of the CID TEXT are, reassembled from STORE; None when its DAG is not all
    here (or a block is damaged: nothing can be concluded). Blocking: run in a worker thread."""
    try:
        cid = CID.decode(text)
    except (InvalidCID, ValueError):
        return Check(text, None, None, _NOT_A_CID)
    digest, size = hashlib.sha256(), 0
    try:
        if not store.has_all(cid):
            return None
        for part in store.cat(cid):
            digest.update(part)
            size += len(part)
    except (BlockNotFound, BlockCorrupted):
        return None
    except MirrorError as exc:                    # a directory, a malformed or lying DAG
        return Check(text, None, None, f"no UnixFS file: {exc}"[:300])
    return Check(text, digest.hexdigest(), size)


async def check_claims(index: Index, store: ContentStore, keys: Iterable[str] | None = None) -> set[str]:
    """Check every claim (of KEYS: sha256s or CIDs) whose CID was never checked and whose DAG is
    complete here, and settle the bindings; returns the sha256s whose binding changed."""
    wanted = None if keys is None else list(dict.fromkeys(keys))
    if wanted == []:
        return set()
    changed: set[str] = set()
    after = 0
    while True:
        async with index.read() as conn:
            batch = await bindings.unchecked(conn, after=after, limit=SETTLE_BATCH, keys=wanted)
        if not batch:
            return changed
        cids = list(dict.fromkeys(cid for _id, cid in batch))
        found = [c for c in await asyncio.to_thread(_check_all, store, cids) if c is not None]
        if found:
            async with index.transaction() as tx:
                changed |= await bindings.add_checks(await tx.connection(), found, entry_time())
        after = batch[-1][0]


def _check_all(store: ContentStore, cids: list[str]) -> list[Check | None]:
    return [check_cid(store, cid) for cid in cids]


# -- held contents -------------------------------------------------------------------------------

async def mismatched(index: Index, store: ContentStore) -> list[tuple[str, Check]]:
    """(sha256, check) of every held content whose bound CID's bytes, reassembled, are not that
    sha256 and size (an index written before bindings were checked, or tampered with)."""
    async with index.read() as conn:
        found = await bindings.held_bindings(conn)
    return await asyncio.to_thread(_mismatched, store, found)


def _mismatched(store: ContentStore, found: list[tuple[str, str, int]]) -> list[tuple[str, Check]]:
    wrong = []
    for sha256, cid, size in found:
        check = check_cid(store, cid)
        if check is not None and (check.sha256, check.size) != (sha256, size):
            wrong.append((sha256, check))
    return wrong


async def unbind(index: Index, found: list[tuple[str, Check]]) -> set[str]:
    """Record the checks of FOUND (from ``mismatched``) and settle those contents again: each is
    bound to a claim its bytes prove, or left unverified and not held. Returns the sha256s."""
    shas = {sha for sha, _check in found}
    async with index.transaction() as tx:
        conn = await tx.connection()
        now = entry_time()
        await bindings.add_checks(conn, [check for _sha, check in found], now)
        await bindings.unhold(conn, shas)
        await bindings.settle(conn, shas, now)
    return shas
