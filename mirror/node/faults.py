"""What the node does when its own environment fails: an index file found damaged, a full disk.

* **Requests.** ``fault_middleware`` answers every request 503 with a problem body of the path's
  face (``mirror.node.http``) while the index is known to be damaged (a statement found it so, or
  the check at start): nothing is served from a file that can no longer be trusted, and the
  answer is never a bare 500. A handler that meets a damaged index or a full disk gets the same
  503 (with ``Retry-After`` for a full disk). The messages name no local path.
* **Background work.** ``environmental(exc)`` tells the loops (sync, pulls, replication, upkeep)
  that an error is the environment's, not a peer's: they log it as one line, do not hold it
  against the peer, and try again on their next round; the index checkpoints its write-ahead log
  once a write succeeds again (``indexer.db``).
* **Start.** ``check_at_start`` runs SQLite's quick check of the index in the background, then
  marks complete contents held and reclaims the blocks a killed import left (``mirror.reclaim``).
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from indexer.errors import DatabaseDamaged
from indexer.index import Index
from mirror import held, publication
from mirror.errors import is_disk_full
from mirror.node.http import Problem
from mirror.reclaim import reclaim
from mirror.store import ContentStore

log = logging.getLogger(__name__)

INDEX_DAMAGED = ("this node's index file is damaged: nothing is served until its operator "
                 "restores it (openmirror verify)")
DISK_FULL = "this node's disk is full; try again later"
RETRY_FULL = "60"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def environmental(exc: BaseException) -> str | None:
    """One line for an error of the node's environment (damaged index, full disk), or None."""
    if isinstance(exc, DatabaseDamaged):
        return "the index file is damaged (openmirror verify tells more)"
    if is_disk_full(exc):
        return f"the disk is full: {exc}"
    return None


def fault_middleware(index: Index) -> Middleware:
    """The middleware of the module docstring; install it inside ``problem_middleware``."""

    @web.middleware
    async def faults(request: web.Request, handler: Handler) -> web.StreamResponse:
        if index.damage is not None:
            raise Problem(503, INDEX_DAMAGED, code="index_damaged")
        try:
            return await handler(request)
        except DatabaseDamaged:
            raise Problem(503, INDEX_DAMAGED, code="index_damaged") from None
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            raise Problem(503, DISK_FULL, code="disk_full", headers={"Retry-After": RETRY_FULL}) from None

    return faults


async def check_at_start(index: Index, store: ContentStore) -> None:
    """The start-up checks of the module docstring; a failure is logged, never raised."""
    try:
        problems = await index.integrity(quick=True)
        if problems:
            log.error("the index file is damaged (%s): every request is refused until it is "
                      "restored; openmirror verify tells more", problems[0][:200])
            return
        await held.reconcile(index, store)
        await publication.reconcile_unpublished(index, store)      # what is held but not published: not served
        found = await reclaim(index, store)
        if found.blocks:
            log.info("reclaimed %d blocks (%d bytes) left by a killed import", found.blocks, found.bytes)
    except Exception as exc:                       # the node must keep running
        why = environmental(exc)
        if why is None:
            raise
        log.warning("start-up checks stopped: %s", why)
