"""One block from one peer's trustless gateway, and the writer that verifies and stages blocks.

``fetch_block`` asks ``GET {peer}/ipfs/{cid}?format=raw`` (with ``Accept: application/vnd.ipld.raw``)
and classifies the answer, reading at most 2 MiB + 1 byte within a deadline:

    bytes        200 with a body (still unverified: the writer checks it)
    Missing      404/410/451: the peer does not hold that block
    PeerFailed   anything else: timeouts, connection errors, 5xx, 429 (``busy``, ``retry_after``)
    PeerLied     a body over the 2 MiB block limit (announced or sent)

``BlockWriter`` verifies each block against its CID and stages it into a blockstore batch, all in
one worker thread, so verification and writing never block the event loop and batches can be
committed (every ``COMMIT_BLOCKS`` blocks or ``COMMIT_BYTES`` bytes, and at ``close``) without
racing a write. A block that does not hash to its CID raises ``BlockMismatch`` and is never
written. The writer counts the bytes it adds and refuses the block that would pass its ``limit``
(``BudgetExceeded``); ``discard`` removes everything it added.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import aiohttp

from mirror.errors import BlockMismatch, BudgetExceeded
from mirror.store.blockstore import MAX_BLOCK_SIZE, BlockBatch, BlockStore, check_block, commit_batches
from mirror.store.journal import Journal
from mirror.store.cid import CID, DAG_PB
from mirror.store.dagpb import decode_node

RAW_TYPE = "application/vnd.ipld.raw"
COMMIT_BLOCKS = 256                 # commit a batch after this many blocks ...
COMMIT_BYTES = 32 * 1024 * 1024     # ... or this many bytes, so durability overlaps the transfer
_READ = 256 * 1024
_MAX_RETRY_AFTER = 30.0


class Missing(Exception):
    """The peer answered that it does not hold the block."""


class PeerFailed(Exception):
    """The request failed for a reason that may pass: ``busy`` for 429/503 (the peer is alive but
    wants us to slow down), ``retry_after`` for its wish in seconds."""

    def __init__(self, message: str, retry_after: float | None = None, busy: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.busy = busy


class PeerLied(Exception):
    """The peer sent what no honest holder sends (wrong bytes, an oversized block)."""


def block_url(peer: str, cid: CID) -> str:
    return f"{peer.rstrip('/')}/ipfs/{cid}?format=raw"


async def fetch_block(session: aiohttp.ClientSession, peer: str, cid: CID, timeout: float) -> bytes:
    """The body a peer sends for one block (unverified); see the module docstring for errors."""
    try:
        async with session.get(block_url(peer, cid), headers={"Accept": RAW_TYPE},
                               timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            if resp.status in (404, 410, 451):
                raise Missing(f"{peer} does not hold {cid}")
            if resp.status != 200:
                raise PeerFailed(f"{peer} answered {resp.status} for {cid}",
                                 _retry_after(resp.headers.get("Retry-After")),
                                 busy=resp.status in (429, 503))
            if (resp.content_length or 0) > MAX_BLOCK_SIZE:
                raise PeerLied(f"{peer} announced {resp.content_length} bytes for one block")
            return await _read_bounded(resp, peer, cid)
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        raise PeerFailed(f"{peer}: {type(exc).__name__}: {exc}") from exc


async def _read_bounded(resp: aiohttp.ClientResponse, peer: str, cid: CID) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(_READ):
        size += len(chunk)
        if size > MAX_BLOCK_SIZE:
            raise PeerLied(f"{peer} sent more than {MAX_BLOCK_SIZE} bytes for {cid}")
        parts.append(chunk)
    return b"".join(parts)


def _retry_after(value: str | None) -> float | None:
    try:
        return min(max(float(value), 0.0), _MAX_RETRY_AFTER) if value else None
    except ValueError:
        return None


async def probe(session: aiohttp.ClientSession, peer: str, cid: CID, timeout: float) -> bool:
    """True when the peer answers ``HEAD`` for the root block with 200."""
    try:
        async with session.head(block_url(peer, cid), headers={"Accept": RAW_TYPE},
                                timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            return resp.status == 200
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
        return False


def links_of(cid: CID, block: bytes) -> list[CID]:
    """The CIDs a block links to (dag-pb links; other codecs are leaves here)."""
    if cid.codec != DAG_PB:
        return []
    return [CID.from_bytes(link.hash) for link in decode_node(block).links]


class BlockWriter:
    """Verify, stage and periodically commit blocks in one worker thread (see the module docstring).

    With LIMIT, the bytes of the blocks it adds (not those already stored) may not pass it: the
    block that would is refused with ``BudgetExceeded`` before it is written. With a JOURNAL
    (``mirror.store.journal``) the keys of committed blocks are recorded first, so that blocks of
    a fetch cut short by a kill are reclaimed; ``discard`` removes what this writer added."""

    def __init__(self, blocks: BlockStore, every: int = COMMIT_BLOCKS,
                 every_bytes: int = COMMIT_BYTES, *, limit: int | None = None,
                 journal: Journal | None = None) -> None:
        self._blocks = blocks
        self._every, self._every_bytes = every, every_bytes
        self._batch: BlockBatch | None = None
        self._staged = self._staged_bytes = 0
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="block-writer")
        self.limit, self.journal = limit, journal
        self.added = 0                       # bytes counted: blocks added, and those found stored
        self._committed: list[CID] = []      # blocks it added and committed

    async def put(self, cid: CID, data: bytes) -> list[CID]:
        """Verify and stage one block; returns its links. Raises BlockMismatch for wrong bytes,
        BudgetExceeded when the block would take the writer past its limit."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._put, cid, data)

    def _put(self, cid: CID, data: bytes) -> list[CID]:
        if self._batch is None:
            self._batch = BlockBatch(self._blocks)
        if not self._batch.has(cid):
            check_block(cid, data)           # hashes first: BlockMismatch leaves nothing behind
            if self.limit is not None and self.added + len(data) > self.limit:
                raise BudgetExceeded(f"{cid} would pass the {self.limit} bytes this fetch may use",
                                     limit=self.limit)
            self._batch.put_hashed(cid, data)
            self.added += len(data)
            self._staged += 1
            self._staged_bytes += len(data)
        links = links_of(cid, data)
        if self._staged >= self._every or self._staged_bytes >= self._every_bytes:
            self._commit()
        return links

    async def count_existing(self, cid: CID, size: int) -> None:
        """Count a block of the DAG that was already stored toward the limit (the DAG is measured
        whole); BudgetExceeded when it passes. Runs in the writer's thread, like ``put``."""
        if self.limit is not None:
            await asyncio.get_running_loop().run_in_executor(self._thread, self._count, cid, size)

    def _count(self, cid: CID, size: int) -> None:
        if self.limit is not None and self.added + size > self.limit:
            raise BudgetExceeded(f"{cid} would pass the {self.limit} bytes this fetch may use",
                                 limit=self.limit)
        self.added += size

    def _commit(self) -> None:
        if self._batch is not None:
            batch, self._batch = self._batch, None
            self._staged = self._staged_bytes = 0
            self._committed += batch.cids()     # before: a failed commit may have moved some
            commit_batches([batch], self.journal)

    def _discard(self) -> int:
        if self._batch is not None:
            self._batch.abort()
            self._batch = None
        removed = sum(self._blocks.delete(cid) for cid in self._committed)
        self._committed = []
        if self.journal is not None:
            self.journal.close()
        return removed

    def _finish(self) -> None:
        self._commit()
        if self.journal is not None:
            self.journal.close()

    async def close(self) -> None:
        """Commit what is staged (verified blocks are kept even when the retrieval failed); the
        journal, if any, is done with."""
        try:
            await asyncio.get_running_loop().run_in_executor(self._thread, self._finish)
        finally:
            self._thread.shutdown(wait=False)

    async def discard(self) -> int:
        """Remove every block this writer added (staged or committed); returns how many."""
        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, self._discard)
        finally:
            self._thread.shutdown(wait=False)


__all__ = ["BlockMismatch", "BlockWriter", "Missing", "PeerFailed", "PeerLied", "fetch_block",
           "links_of", "probe"]
