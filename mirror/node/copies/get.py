"""``openmirror get``: content from the local store if it is all here, else from the peers that hold it.

    result = await get_content(home, cid, peers=["http://peer:8470"], out=Path("file.pdf"))

The candidates are the given peers, the ``node.peers`` setting and the home's peers table
(configured and learned); those that answer ``HEAD`` for the root block are the holders, and the
DAG is retrieved from all of them at once (``mirror.node.copies.retrieve``), every block verified. The
file is then written atomically (a temp file beside the target, renamed when complete), or left to
the caller to stream (``out=None``).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from indexer.index import Index
from indexer.peers import list_peers
from mirror import held
from mirror.errors import ContentUnavailable, UsageError
from mirror.home import Home
from mirror.node.copies.retrieve import RetrieveStats, find_holders, retrieve
from mirror.services import open_home
from mirror.store import ContentStore
from mirror.store.cid import CID


@dataclass
class GetResult:
    cid: str
    source: str                     # "local" (every block was here) or "peers"
    size: int                       # file bytes
    path: str | None = None         # where it was written; None when the caller streams it
    holders: list[str] | None = None
    stats: RetrieveStats | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {"cid": self.cid, "source": self.source, "size": self.size, "path": self.path,
                "holders": self.holders or []}
        if self.stats is not None:
            data["retrieval"] = self.stats.to_dict()
        return data


async def get_content(home: Home, cid: CID, *, peers: Iterable[str] = (),
                      out: Path | None = None) -> GetResult:
    """Make the file ``cid`` local (verified), then write it to ``out`` if given."""
    async with open_home(home) as services:
        store = services.store
        stats, holders = None, None
        if not await asyncio.to_thread(store.has_all, cid):
            candidates = [*peers, *home.settings.node.peers, *await known_peers(services.index),
                          *home.settings.node.gateways]
            holders = await find_holders(cid, candidates)
            if not holders:
                raise ContentUnavailable(f"no peer holds {cid}", hint=_hint(candidates))
            stats = await retrieve(store, cid, holders)
            await held.refresh(services.index, store, [str(cid)])
        info = await asyncio.to_thread(store.stat, cid)
    if info.type != "file":
        raise UsageError(f"{cid} is a {info.type}, not a file",
                         hint="export it with: openmirror car export")
    if out is not None:
        await asyncio.to_thread(save_file, store, cid, out)
    return GetResult(str(cid), "local" if stats is None else "peers", info.size,
                     str(out) if out is not None else None, holders, stats)


def _hint(candidates: list[str]) -> str:
    if not candidates:
        return "no peers are known: pass --peer URL or set node.peers"
    return f"asked {len(set(candidates))} peer(s); try others with --peer URL"


async def known_peers(index: Index) -> list[str]:
    """Peer URLs in the home's peers table, most recently contacted first."""
    async with index.read() as conn:
        return [peer.url for peer in await list_peers(conn)]


def save_file(store: ContentStore, cid: CID, path: Path) -> int:
    """Write the file atomically: a temp file beside ``path``, renamed into place when complete."""
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from exc
    written = 0
    try:
        with os.fdopen(fd, "wb") as fh:
            for part in store.cat(cid):
                fh.write(part)
                written += len(part)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return written
