"""``openmirror get``: content from the local store if it is all here, else from the peers that hold it.

    result = await get_content(home, cid, peers=["http://peer:8470"], out=Path("file.pdf"))
    result = await get_content(home, parse_content_path("/ipfs/CID/docs"), out=Path("docs"))

The candidates are the given peers, the ``node.peers`` setting, the home's peers table
(configured and learned) and the ``node.gateways`` setting, all asked through one session with the
node's address policy (``mirror.node.reach``: the given and configured ones are trusted, learned
ones reached only where the policy allows); those that answer ``HEAD`` for the root block are
the holders, and the DAG is retrieved from all of them at once
(``mirror.node.copies.retrieve``), every block verified.

A path below the CID (``CID/a/b``) is followed in the local store; a directory block it needs and
lacks is fetched alone from the root's holders (``fetch_block``), so only the blocks along the path
and the DAG at its end are transferred. A file is then written atomically to ``out`` (into it when
``out`` is an existing folder, under the path's last name, the indexed file name, or the CID), or
left to the caller to stream (``out=None``); a directory is written as the new folder ``out``
(``mirror.store.save``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import aiohttp

from indexer import listing
from indexer.index import Index
from indexer.peers import list_peers
from mirror import held
from mirror.publication import unpublish
from mirror.errors import BlockMismatch, BlockNotFound, ContentUnavailable, UsageError
from mirror.home import Home
from mirror.node.copies.blockfetch import BlockWriter, Missing, PeerFailed, PeerLied, fetch_block
from mirror.node.copies.retrieve import DEFAULT_TIMEOUT, RetrieveStats, find_holders, retrieve
from mirror.node.reach import guarded_session
from mirror.services import Services, open_home
from mirror.store import ContentStore
from mirror.store.cid import CID
from mirror.store.exporter import MAX_DEPTH
from mirror.store.paths import ContentPath
from mirror.store.save import SavedTree, save_file, save_tree

MAX_PATH_BLOCKS = 4 * MAX_DEPTH      # directory and HAMT blocks a path may need from peers


@dataclass
class GetResult:
    cid: str
    source: str                     # "local" (every block was here) or "peers"
    size: int                       # file bytes (a directory: the bytes of its files)
    path: str | None = None         # where it was written; None when the caller streams it
    holders: list[str] | None = None
    stats: RetrieveStats | None = None
    type: str = "file"              # file | directory
    tree: SavedTree | None = None   # a directory written to disk

    def to_dict(self) -> dict[str, Any]:
        data = {"cid": self.cid, "source": self.source, "size": self.size, "path": self.path,
                "holders": self.holders or [], "type": self.type}
        if self.stats is not None:
            data["retrieval"] = self.stats.to_dict()
        if self.tree is not None:
            data.update(files=self.tree.files, folders=self.tree.folders, skipped=self.tree.skipped)
        return data


class _Peers:
    """The candidate peers, looked up once and only if something must come from them."""

    def __init__(self, services: Services, given: Iterable[str], session: aiohttp.ClientSession) -> None:
        self.services, self.given, self.session = services, list(given), session
        self.candidates: list[str] | None = None

    async def all(self) -> list[str]:
        if self.candidates is None:
            settings = self.services.home.settings.node
            self.candidates = [*self.given, *settings.peers, *await known_peers(self.services.index),
                               *settings.gateways]
        return self.candidates

    async def holders(self, cid: CID) -> list[str]:
        candidates = await self.all()
        found = await find_holders(cid, candidates, session=self.session)
        if not found:
            raise ContentUnavailable(f"no peer holds {cid}", hint=_hint(candidates))
        return found


Progress = Callable[[int, int | None], None]     # (bytes fetched, bytes of the whole DAG if known)


async def get_content(home: Home, target: CID | ContentPath, *, peers: Iterable[str] = (),
                      out: Path | None = None, progress: Progress | None = None) -> GetResult:
    """Make the content TARGET names local (verified), then write it to ``out`` if given.
    PROGRESS hears of every block fetched from peers, with the DAG's size once its root is here."""
    wanted = target if isinstance(target, ContentPath) else ContentPath(target)
    async with open_home(home) as services, \
            await guarded_session(home.settings, services.index, limit=200,
                                  trusted=[*peers, *home.settings.node.gateways]) as session:
        store, found = services.store, _Peers(services, peers, session)
        cid = await _resolve(store, wanted, found)
        stats, holders = None, None
        if not await asyncio.to_thread(store.has_all, cid):
            holders = await found.holders(cid)
            stats = await retrieve(store, cid, holders, session=found.session,
                                   on_block=await _counter(store, cid, holders, progress, found.session))
            await held.refresh(services.index, store, [str(cid)])
            await unpublish(services.index, store, [str(cid)])   # served only if published (or pinned)
        info = await asyncio.to_thread(store.stat, cid)
        if info.type == "file" and out is not None and await asyncio.to_thread(out.is_dir):
            out = out / await _file_name(services.index, wanted, cid)
    result = GetResult(str(cid), "local" if stats is None else "peers", info.size,
                       str(out) if out is not None else None, holders, stats, info.type)
    await _write(store, wanted, cid, result, out)
    return result


async def _write(store: ContentStore, wanted: ContentPath, cid: CID, result: GetResult,
                 out: Path | None) -> None:
    """A file to OUT (nothing without OUT: the caller streams it), a directory as the folder OUT."""
    if result.type == "directory":
        if out is None:
            raise UsageError(f"{wanted} is a directory", hint="write it to a new folder with -o DIR")
        result.tree = await asyncio.to_thread(save_tree, store, cid, out)
        result.size = result.tree.bytes
    elif result.type != "file":
        raise UsageError(f"{wanted} is a {result.type}, not a file or directory",
                         hint="export it with: openmirror car export")
    elif out is not None:
        await asyncio.to_thread(save_file, store, cid, out)


async def _counter(store: ContentStore, cid: CID, holders: list[str], progress: Progress | None,
                   session: aiohttp.ClientSession) -> Callable[[int], None] | None:
    """A block counter for ``retrieve`` that tells PROGRESS; the root block is fetched first, so the
    total (the DAG's cumulative size, ``FileStat.dag_size``) is known from the start."""
    if progress is None:
        return None
    if not await asyncio.to_thread(store.has, cid):
        await fetch_one(store, cid, holders, session)
    root = await asyncio.to_thread(store.stat, cid)
    total, done = root.dag_size, [root.block_size]
    progress(done[0], total)

    def count(size: int) -> None:
        done[0] += size
        progress(done[0], total)
    return count


async def _resolve(store: ContentStore, wanted: ContentPath, found: _Peers) -> CID:
    """The CID at the end of WANTED's path, fetching the directory blocks it lacks one by one."""
    holders: list[str] | None = None
    for _ in range(MAX_PATH_BLOCKS):
        try:
            return await asyncio.to_thread(store.resolve_path, wanted)
        except BlockNotFound as exc:
            holders = holders or await found.holders(wanted.cid)
            missing = exc.cid if isinstance(exc.cid, CID) else CID.decode(str(exc.cid))
            await fetch_one(store, missing, holders, found.session)
    raise ContentUnavailable(f"{wanted}: the path needs more than {MAX_PATH_BLOCKS} blocks")


async def fetch_one(store: ContentStore, cid: CID, holders: list[str],
                    session: aiohttp.ClientSession) -> None:
    """One block from the first of HOLDERS that sends it right (verified before it is stored)."""
    writer = BlockWriter(store.blocks)
    try:
        for holder in holders:
            try:
                await writer.put(cid, await fetch_block(session, holder, cid, DEFAULT_TIMEOUT))
                return
            except (Missing, PeerFailed, PeerLied, BlockMismatch):
                continue
    finally:
        await writer.close()
    raise ContentUnavailable(f"no peer sent block {cid}", hint=f"asked {len(holders)} peer(s)")


async def _file_name(index: Index, wanted: ContentPath, cid: CID) -> str:
    """A name for a file written into a folder: the path's last name, the indexed one, or the CID."""
    if wanted.name:
        return wanted.name
    async with index.read() as conn:
        names = await listing.file_names(conn, [str(cid)], include_private=True)
    name = names.get(str(cid), "")
    return name if name and name not in (".", "..") and "/" not in name and "\0" not in name else str(cid)


def _hint(candidates: list[str]) -> str:
    if not candidates:
        return "no peers are known: pass --peer URL or set node.peers"
    return f"asked {len(set(candidates))} peer(s); try others with --peer URL"


async def known_peers(index: Index) -> list[str]:
    """Peer URLs in the home's peers table, most recently contacted first."""
    async with index.read() as conn:
        return [peer.url for peer in await list_peers(conn)]


__all__ = ["GetResult", "fetch_one", "get_content", "known_peers", "save_file"]
