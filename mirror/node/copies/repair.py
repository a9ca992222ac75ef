"""``openmirror verify [--repair]``: re-hash every local block, find what held contents lack, and
fetch good copies from peers.

    report = await verify_home(home, repair=True, peers=["http://peer:8470"])
    report.remaining     # damage left: [] when all is well

Before the blocks, the index file itself is checked (``PRAGMA integrity_check``: a damaged file
ends the check there), then every stored entry is verified again (``mirror.feed.stored``:
signatures, chains, heads). With ``--repair``, a content still damaged afterwards is no longer
marked held (``unheld``), and the blocks a killed import left are reclaimed (``mirror.reclaim``;
without it they are only counted).

Two kinds of damage (``Damage.kind``):

* ``corrupted``: a block file whose bytes no longer hash to its name (found by re-hashing every
  block, on all cores, never on the event loop); ``unreadable`` when its hash function is unknown;
* ``missing``: a block of a content marked held (``held_contents``) that is not in the store;
* ``mismatch``: a held content whose bound CID, reassembled, is not its sha256 and size (an index
  written before bindings were checked, or tampered with). Repair records what the bytes are and
  binds the content again (``mirror.binding.unbind``): to a claim its bytes prove, or to nothing
  verified, and it is no longer held.

Repair asks the candidates (the given peers, ``node.peers``, the peers table and every live holder
the holdings table knows) which of them hold each damaged block or content (``find_holders``),
then fetches from them with ``mirror.node.copies.retrieve`` (several at once, every block verified). A
corrupted file is set aside first (renamed ``*.corrupt``, invisible to the store) and removed once
a verified copy is in place, or put back if none could be had, so a failed repair changes
nothing. Missing blocks under a repaired internal node are found by walking again, up to
``MAX_PASSES`` times.
"""

from __future__ import annotations

import asyncio
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Iterable, Iterator

import aiohttp

from indexer import copies as rows
from indexer.index import Index
from mirror.errors import BlockCorrupted, BlockNotFound, InvalidCID, MirrorError
from mirror.home import Home
from mirror import binding, held
from mirror.node.copies.census import holder_urls
from mirror.node.copies.get import known_peers
from mirror.feed.stored import FeedCheck, check_feeds
from mirror.node.copies.replicate import fetch_from
from mirror.reclaim import Reclaimed, reclaim
from mirror.node.reach import guarded_session
from mirror.services import open_home
from mirror.store import ContentStore
from mirror.store.blockstore import BlockStore
from mirror.store.cid import CID, DAG_PB, RAW
from mirror.store.dagpb import decode_node

SCAN_BATCH = 4096
MAX_PASSES = 3
QUARANTINE = ".corrupt"


@dataclass
class Damage:
    cid: str                       # the block (its raw-codec CIDv1 when only its file was seen)
    kind: str                      # corrupted | missing | unreadable | mismatch
    path: str | None = None        # the block file, for corrupted ones
    contents: list[str] = field(default_factory=list)   # held contents (sha256) that need it
    repaired: bool = False
    detail: str | None = None


@dataclass
class VerifyReport:
    blocks: int = 0                # block files re-hashed
    bytes: int = 0
    contents: int = 0              # held contents walked
    damage: list[Damage] = field(default_factory=list)
    seconds: float = 0.0
    index_problems: list[str] = field(default_factory=list)    # SQLite's integrity_check
    feeds: FeedCheck = field(default_factory=FeedCheck)         # stored entries re-verified
    unheld: list[str] = field(default_factory=list)   # contents marked held that are not (fixed)
    reclaimed: Reclaimed = field(default_factory=Reclaimed)     # blocks a killed import left

    @property
    def remaining(self) -> list[Damage]:
        return [d for d in self.damage if not d.repaired]

    @property
    def failed(self) -> bool:
        """Damage is left: blocks, the index file, or stored entries."""
        return bool(self.remaining or self.index_problems or self.feeds.bad)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"repaired": sum(d.repaired for d in self.damage),
                               "remaining": len(self.remaining)}


# -- finding damage ------------------------------------------------------------------------------

def scan_blocks(blocks: BlockStore, workers: int | None = None) -> tuple[int, int, list[Damage]]:
    """Re-hash every block file: (blocks, bytes, damage). Runs hashing on WORKERS threads."""
    count = size = 0
    damage: list[Damage] = []
    with ThreadPoolExecutor(workers or os.cpu_count() or 2, thread_name_prefix="verify") as pool:
        for batch in _batches(blocks.iter_multihashes(), SCAN_BATCH):
            for result in pool.map(lambda mh: _check(blocks, mh), batch):
                if isinstance(result, Damage):
                    damage.append(result)
                else:
                    count, size = count + 1, size + result
    return count, size, damage


def _batches(items: Iterator[bytes], size: int) -> Iterator[list[bytes]]:
    while batch := list(islice(items, size)):
        yield batch


def _check(blocks: BlockStore, multihash: bytes) -> int | Damage:
    cid = CID(1, RAW, multihash)
    try:
        return len(blocks.get(cid))
    except BlockCorrupted:
        return Damage(str(cid), "corrupted", str(blocks.path_of(cid)))
    except BlockNotFound:
        return 0                                   # removed while we looked
    except (InvalidCID, ValueError) as exc:
        return Damage(str(cid), "unreadable", str(blocks.path_of(cid)), detail=str(exc))


def walk_content(blocks: BlockStore, root: CID, corrupted: set[bytes]) -> tuple[list[CID], list[CID]]:
    """(missing blocks, corrupted blocks) of the DAG under ROOT. CORRUPTED names the multihashes
    already known to be damaged (their links cannot be followed)."""
    missing, damaged, stack, seen = [], [], [root], set()
    while stack:
        cid = stack.pop()
        if cid.multihash in seen:
            continue
        seen.add(cid.multihash)
        if cid.multihash in corrupted:
            damaged.append(cid)
        elif not blocks.has(cid):
            missing.append(cid)
        elif cid.codec == DAG_PB:
            try:
                stack.extend(CID.from_bytes(link.hash) for link in decode_node(blocks.get(cid)).links)
            except BlockCorrupted:
                damaged.append(cid)
    return missing, damaged


def find_damage(store: ContentStore, held_contents: list[tuple[str, str]], report: VerifyReport) -> int:
    """Walk the held contents: add their missing blocks to REPORT and name the contents that need
    each damaged block. Returns how many contents were walked."""
    known = {CID.decode(d.cid).multihash: d for d in report.damage}
    bad = {mh for mh, d in known.items() if d.kind != "missing" and not d.repaired}
    walked = 0
    for sha256, cid_text in held_contents:
        try:
            root = CID.decode(cid_text)
        except InvalidCID:
            continue
        missing, damaged = walk_content(store.blocks, root, bad)
        walked += 1
        for cid in missing + damaged:
            entry = known.get(cid.multihash)
            if entry is None or entry.repaired:
                entry = known[cid.multihash] = Damage(str(cid), "missing" if cid in missing else "corrupted")
                report.damage.append(entry)
            entry.cid = str(cid)                     # the real codec, now that we know it
            if sha256 not in entry.contents:
                entry.contents.append(sha256)
    return walked


async def verify_store(store: ContentStore, index: Index | None = None) -> VerifyReport:
    """Re-hash every block, then walk the contents INDEX marks held (see the module docstring)."""
    started = time.monotonic()
    report = VerifyReport()
    report.blocks, report.bytes, report.damage = await asyncio.to_thread(scan_blocks, store.blocks)
    if index is not None:
        async with index.read() as conn:
            contents = await rows.held_contents(conn)
        report.contents = await asyncio.to_thread(find_damage, store, contents, report)
        report.damage += [Damage(check.cid, "mismatch", contents=[sha], detail=_found(check))
                          for sha, check in await binding.mismatched(index, store)]
    report.seconds = time.monotonic() - started
    return report


# -- repairing -----------------------------------------------------------------------------------

async def repair_damage(store: ContentStore, index: Index | None, report: VerifyReport,
                        candidates: Iterable[str], *, holder_timeout: float = 600.0,
                        via: aiohttp.ClientSession | None = None) -> VerifyReport:
    """Fetch verified copies of every damaged block of REPORT from the CANDIDATES (and the live
    holders of the contents that need them) through the session VIA (the node's guarded one for
    ``verify --repair``); marks what was repaired."""
    peers = list(dict.fromkeys(url.rstrip("/") for url in candidates))
    async with via or aiohttp.ClientSession() as session:
        for _ in range(MAX_PASSES):
            todo = [d for d in report.damage if not d.repaired and d.kind not in ("unreadable", "mismatch")]
            if not todo:
                break
            for damage in todo:
                urls = peers + await _holders(index, damage, holder_timeout)
                damage.repaired = await _fetch_again(store, damage, urls, session)
            if not any(d.repaired for d in todo) or index is None:
                break
            await _walk_again(store, index, report, {s for d in todo if d.repaired for s in d.contents})
    if index is not None:
        fixed = {s for d in report.damage if d.repaired for s in d.contents}
        await held.refresh(index, store, fixed)
    return report


def _found(check: binding.Check) -> str:
    if check.sha256 is None:
        return check.detail or "not a file"
    return f"its bytes are sha256 {check.sha256} ({check.size} bytes)"


async def _rebind(store: ContentStore, index: Index, report: VerifyReport) -> None:
    """Repair the ``mismatch`` damage: bind those contents again from what their bytes are."""
    wrong = [d for d in report.damage if d.kind == "mismatch" and not d.repaired]
    checks = [(d, binding.check_cid(store, d.cid)) for d in wrong]
    found = [(d.contents[0], check) for d, check in checks if check is not None]
    if found:
        await binding.unbind(index, found)
        await held.refresh(index, store, [sha for sha, _check in found])
    for damage, check in checks:
        damage.repaired = check is not None


async def _holders(index: Index | None, damage: Damage, holder_timeout: float) -> list[str]:
    if index is None:
        return []
    found: list[str] = []
    keys: list[str | None] = list(damage.contents) or [None]
    for sha256 in keys:
        found += await holder_urls(index, me="", holder_timeout=holder_timeout, sha256=sha256)
    return found


async def _fetch_again(store: ContentStore, damage: Damage, urls: list[str],
                       session: aiohttp.ClientSession) -> bool:
    """Retrieve the damaged block (and, for a dag-pb node, what is missing under it)."""
    cid = CID.decode(damage.cid)
    aside = await asyncio.to_thread(_set_aside, store, cid) if damage.kind == "corrupted" else None
    try:
        await fetch_from(store, cid, urls, session)
        await asyncio.to_thread(store.blocks.get, cid)
    except (MirrorError, OSError) as exc:
        damage.detail = str(exc)
        if aside is not None:
            await asyncio.to_thread(_put_back, store, cid, aside)
        return False
    if aside is not None:
        await asyncio.to_thread(aside.unlink, missing_ok=True)
    damage.detail = None
    return True


def _put_back(store: ContentStore, cid: CID, aside: Path) -> None:
    """The damaged copy goes back in place when no good one came (the damage stays reported)."""
    if not store.blocks.has(cid):
        os.replace(aside, store.blocks.path_of(cid))


def _set_aside(store: ContentStore, cid: CID) -> Path:
    path = store.blocks.path_of(cid)
    aside = path.with_name(path.name + QUARANTINE)
    os.replace(path, aside)
    return aside


async def _walk_again(store: ContentStore, index: Index, report: VerifyReport, shas: set[str]) -> None:
    """Look again under repaired blocks: a repaired internal node may reveal missing children."""
    async with index.read() as conn:
        contents = [(s, c) for s, c in await rows.held_contents(conn) if s in shas]
    await asyncio.to_thread(find_damage, store, contents, report)


async def verify_home(home: Home, *, repair: bool = False, peers: Iterable[str] = ()) -> VerifyReport:
    """``openmirror verify``: check HOME's index file, its stored entries, its store and held
    contents, and count the blocks a killed import left; with REPAIR, fix what peers can, correct
    the held marks and reclaim those blocks."""
    async with open_home(home) as services:
        store, index = services.store, services.index
        problems = await index.integrity(quick=False)
        if problems:                       # nothing more can be read from it safely
            return VerifyReport(index_problems=problems)
        report = await verify_store(store, index)
        report.feeds = await check_feeds(index)
        if repair:
            await _rebind(store, index, report)
        if repair and report.remaining:
            settings = home.settings.node
            candidates = [*peers, *settings.peers, *await known_peers(index)]
            session = await guarded_session(home.settings, index, trusted=peers)
            await repair_damage(store, index, report, candidates, holder_timeout=settings.holder_timeout,
                                via=session)
        if repair:
            report.unheld = await _correct_held(index, store, report)
            await held.reconcile(index, store)
        report.reclaimed = await reclaim(index, store, dry_run=not repair)
    return report


async def _correct_held(index: Index, store: ContentStore, report: VerifyReport) -> list[str]:
    """Contents still damaged after repair are no longer marked held (the node must not claim
    what it lacks); returns their sha256."""
    damaged = sorted({s for d in report.remaining for s in d.contents})
    if damaged:
        await held.refresh(index, store, damaged)
    async with index.read() as conn:
        still = set(await rows.held_sha256s(conn))
    return [s for s in damaged if s not in still]


__all__ = ["Damage", "VerifyReport", "find_damage", "repair_damage", "scan_blocks",
           "verify_home", "verify_store", "walk_content"]
