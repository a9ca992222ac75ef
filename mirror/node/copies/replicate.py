"""Replication: one round of plan -> drop -> fetch, within the node's storage budget.

    report = await replicate_round(node.index, node.store, node.session, me=node_id,
                                   settings=node.settings)
    if report.changed:
        await publish_holdings(...)          # tell the others what is held now

A round reads what it may act on (``plan_round``: the wanted contents, at most ``CANDIDATES``,
scarcest first, and the measured bytes held; the held contents only when a drop must make room:
``indexer.copy_plans``), asks the planner for a batch of at most ``BATCH`` contents and
``ROUND_BYTES`` (``mirror.node.copies.planner``), deletes the contents it should drop, then fetches
the chosen contents (``PARALLEL`` at once, in groups whose shares fit the budget left together, a
share being twice the content's size plus ``RESERVE_SLACK``: every fetch is bounded by its share,
so together they cannot pass the budget, and a group is checked together; a content whose share
does not fit alone is fetched on its own within what is left) from their live holders (from ``peers`` only
when none has it) with ``mirror.node.copies.retrieve``: several holders at once, every block
verified, and the whole content checked against its sha256 and size before it counts
(``mirror.node.copies.verified``: a content not yet verified is fetched by its claims). Held
marks are updated as contents come and go. Run it every few seconds while ``report.fetched`` is
not empty, else every sync interval.

Dropping a content deletes only the blocks no other content held here needs (two files may
share blocks): the other held contents' DAGs are walked first, reading only their dag-pb nodes.
A content that a concurrent process adds at the very moment could lose a shared block; the next
``held`` check or ``verify --repair`` finds and fixes it.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any, Awaitable, Callable, Iterable

import aiohttp

from indexer import copies as rows
from indexer import copy_plans as plans
from indexer import tallies
from indexer.db import on_query
from indexer.copies import ContentState
from indexer.index import Index
from mirror.errors import BudgetExceeded, ContentMismatch, ContentUnavailable, MirrorError
from mirror import held
from mirror.node.copies import budget
from mirror.node.copies.budget import storage_budget
from mirror.node.copies.census import holder_urls, live_cutoff
from mirror.node.copies.planner import Plan, PlanInput, is_extra, make_plan, matches
from mirror.node.copies.retrieve import RetrieveStats, find_holders, retrieve
from mirror.node.copies.verified import discard, fetch_verified
from mirror.settings import Settings
from mirror.store import ContentStore
from mirror.store.blockstore import BlockStore
from mirror.store.cid import CID, RAW
from mirror.store.exporter import dag_blocks

BATCH = 64                   # contents fetched per round ...
ROUND_BYTES = 64 << 20       # ... and bytes (one content at least)
CANDIDATES = 512             # wanted contents read per round, scarcest first, for the planner
PARALLEL = 16                # fetches of one round in flight at once
RESERVE_SLACK = 4 * 1024     # bytes a parallel fetch may pass twice its content's size by (DAG nodes)


@dataclass
class RoundReport:
    fetched: list[str] = field(default_factory=list)           # sha256 of contents now held
    dropped: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)  # {sha256, error}
    bytes_fetched: int = 0
    blocks_deleted: int = 0
    wanted: int = 0                                            # contents this node would take
    used: int = 0                                              # budget used after the round
    budget: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.fetched or self.dropped)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_for(states: list[ContentState], *, me: str, settings: Settings, batch: int | None = BATCH,
             held_bytes: int = 0) -> Plan:
    """The planner's answer for this node's settings (budget, copies, collection and licence
    filters); HELD_BYTES are the bytes of others' held contents STATES does not list."""
    node = settings.node
    return make_plan(PlanInput(me, storage_budget(settings), states, copies=int(node.copies),
                               collections=tuple(node.collections), licenses=tuple(node.licenses),
                               max_fetch=batch, max_bytes=ROUND_BYTES if batch else None,
                               held_bytes=held_bytes))


@dataclass
class SurplusMemo:
    """What the last read of every held content found (a node keeps one across rounds): while the
    copies it was read from are unchanged (``key``: held contents, announcements, audits), no
    wanted content bigger than ``room`` (the free bytes plus every surplus byte) can be made room
    for, so a full node does not read every held content again each round to learn that."""

    key: tuple[Any, ...] = ()
    room: int = -1


async def plan_round(index: Index, store: ContentStore, *, me: str, settings: Settings,
                     batch: int = BATCH, memo: SurplusMemo | None = None) -> Plan:
    """The plan of one round, reading what it needs only: the wanted candidates (bounded) and the
    measured bytes held; the held contents become objects only when the node is over its budget
    or a wanted content does not fit in what is left (a drop may make room; with MEMO, only when
    the copies changed or the content is smaller than the room the last read found)."""
    node = settings.node
    cutoff, k = live_cutoff(float(node.holder_timeout)), int(node.copies)
    await budget.measure_held(index, store.blocks, me=me)
    async with index.read() as conn:
        used, _own = await on_query(conn, partial(tallies.held_bytes, me=me))
        wanted = await plans.wanted_states(conn, me=me, cutoff=cutoff, copies=k, limit=CANDIDATES,
                                           collections_=node.collections, licenses=node.licenses)
        key = await plans.copies_mark(conn) if memo is not None else ()
    await asyncio.to_thread(budget.measure, store.blocks, wanted)
    plan = plan_for(wanted, me=me, settings=settings, batch=batch, held_bytes=used)
    fits = memo.room if memo is not None and memo.key == key else None
    if used <= plan.budget and not _short_of_room(plan, wanted, settings, batch, fits):
        return plan
    async with index.read() as conn:
        held_now = await plans.held_states(conn, me=me, cutoff=cutoff, copies=k)
    if memo is not None:
        names, licenses = node.collections, node.licenses
        memo.key, memo.room = key, plan.budget - used + sum(
            s.size for s in held_now if not matches(s, names, licenses) or is_extra(s, me, k))
    return plan_for(wanted + held_now, me=me, settings=settings, batch=batch)


def _short_of_room(plan: Plan, wanted: list[ContentState], settings: Settings, batch: int,
                   room: int | None) -> bool:
    """True when the batch has room left and a wanted content passing the filters did not fit
    (and is not bigger than ROOM, when known)."""
    if len(plan.fetch) >= batch or plan.fetch_bytes >= ROUND_BYTES:
        return False
    chosen, free = {s.sha256 for s in plan.fetch}, plan.budget - plan.after
    names, licenses = settings.node.collections, settings.node.licenses
    return any(s.sha256 not in chosen and free < s.size and (room is None or s.size <= room)
               and matches(s, names, licenses) for s in wanted)


async def replicate_round(index: Index, store: ContentStore, session: aiohttp.ClientSession, *, me: str,
                          settings: Settings, peers: Iterable[str] = (),
                          batch: int = BATCH, memo: SurplusMemo | None = None,
                          progress: Callable[[RoundReport], Awaitable[None]] | None = None) -> RoundReport:
    """Plan, drop and fetch one batch (see the module docstring; MEMO: see ``SurplusMemo``;
    PROGRESS is awaited between the parts of a batch that could not all be fetched at once, so
    what a long round already holds can be announced before it ends)."""
    timeout = float(settings.node.holder_timeout)
    plan = await plan_round(index, store, me=me, settings=settings, batch=batch, memo=memo)
    report = RoundReport(wanted=plan.wanted, budget=plan.budget, used=plan.used)
    if plan.drop:
        report.blocks_deleted = await drop_contents(index, store, plan.drop)
        report.dropped = [s.sha256 for s in plan.drop]
        report.used -= sum(s.size for s in plan.drop)
    group: list[tuple[ContentState, int]] = []
    for state in plan.fetch:
        share = 2 * state.size + RESERVE_SLACK
        if group and sum(s for _, s in group) + share > report.budget - report.used:
            await _fetch_parallel(index, store, session, group, report, me=me, timeout=timeout, peers=peers)
            group = []
            if progress is not None:
                await progress(report)
        if share <= report.budget - report.used:           # room for its share: with others
            group.append((state, share))
            continue
        await _fetch_one(index, store, session, state, report, me=me, timeout=timeout, peers=peers)
        if progress is not None:
            await progress(report)
    if group:
        await _fetch_parallel(index, store, session, group, report, me=me, timeout=timeout, peers=peers)
    return report                  # what was fetched is marked held (checked by held.refresh)


async def _fetch_parallel(index: Index, store: ContentStore, session: aiohttp.ClientSession,
                          batch: list[tuple[ContentState, int]], report: RoundReport, *, me: str,
                          timeout: float, peers: Iterable[str]) -> None:
    """Fetch each content of BATCH by its bound CID within its share, at most ``PARALLEL`` at
    once, then check them all in one ``held.refresh``; those not held then (a fetch failed, or the
    bytes are not the content) go the one-claim-at-a-time way (``fetch_verified``), the CID tried
    first not again. One check for the batch instead of one write transaction per content."""
    gate = asyncio.Semaphore(PARALLEL)
    free = report.budget - report.used
    first: dict[str, RetrieveStats] = {}
    failures: dict[str, MirrorError] = {}

    async def fetch(state: ContentState, share: int) -> None:
        async with gate:
            urls = await holder_urls(index, me=me, holder_timeout=timeout, sha256=state.sha256)
            try:
                cid = CID.decode(state.cid)
                first[state.sha256] = (RetrieveStats(state.cid) if await asyncio.to_thread(
                    store.has_all, cid) else await fetch_from(store, cid, urls, session, limit=share,
                                                              fallback=peers))
            except BudgetExceeded as exc:           # past twice its declared size: not believed,
                budget.remember_at_least(state.cid, max(exc.limit, free) + 1)   # not tried while
                failures[state.sha256] = exc                                    # the room is this
            except MirrorError as exc:
                failures[state.sha256] = exc
            except (OSError, ValueError) as exc:
                failures[state.sha256] = ContentUnavailable(str(exc)[:300])
    await asyncio.gather(*(fetch(state, share) for state, share in batch))
    await held.refresh(index, store, list(first))
    async with index.read() as conn:
        now_held = await plans.held_among(conn, list(first))
    rest = []
    for state, share in batch:
        stats = first.get(state.sha256)
        if stats is not None and state.sha256 in now_held:
            await _count_fetched(store, state, stats, report)
            continue
        if stats is not None:
            failures[state.sha256] = ContentMismatch(f"the bytes of {state.cid} are not "
                                                     f"{state.sha256[:16]}…")
            if stats.blocks and not stats.reused:
                await discard(index, store, state.cid)    # other bytes: left none of them
        rest.append((state, share))

    async def again(state: ContentState, share: int) -> None:
        async with gate:                                  # the other claims, if any
            await _fetch_one(index, store, session, state, report, me=me, timeout=timeout,
                             peers=peers, limit=share, skip=failures[state.sha256])
    await asyncio.gather(*(again(state, share) for state, share in rest))


async def _fetch_one(index: Index, store: ContentStore, session: aiohttp.ClientSession,
                     state: ContentState, report: RoundReport, *, me: str, timeout: float,
                     peers: Iterable[str], limit: int | None = None,
                     skip: MirrorError | None = None) -> None:
    """Fetch one planned content within LIMIT bytes (its share of the budget), else within what is
    left of the budget; REPORT says how it went. SKIP: its bound CID was tried and failed so."""
    urls = await holder_urls(index, me=me, holder_timeout=timeout, sha256=state.sha256)
    limit = max(0, report.budget - report.used) if limit is None else limit
    try:
        stats = await fetch_verified(index, store, state.sha256,
                                     lambda cid: fetch_from(store, cid, urls, session, limit=limit,
                                                            fallback=peers),
                                     skip=skip, skipped=state.cid if skip is not None else "")
    except BudgetExceeded as exc:
        report.failed.append({"sha256": state.sha256, "error": f"stopped at the storage budget: its "
                              f"DAG has more than the {exc.limit} bytes left (it declared "
                              f"{state.size}); what was fetched was removed"})
        return
    except (MirrorError, OSError) as exc:
        report.failed.append({"sha256": state.sha256, "error": str(exc)[:300]})
        return
    await _count_fetched(store, state, stats, report)


async def _count_fetched(store: ContentStore, state: ContentState, stats: RetrieveStats,
                         report: RoundReport) -> None:
    size = (await asyncio.to_thread(budget.dag_bytes, store.blocks, stats.cid))[0]
    report.bytes_fetched += stats.bytes
    report.fetched.append(state.sha256)
    report.used += size


async def fetch_from(store: ContentStore, cid: CID, urls: list[str],
                     session: aiohttp.ClientSession, *, limit: int | None = None,
                     fallback: Iterable[str] = ()) -> RetrieveStats:
    """Retrieve the DAG under CID from those of URLS that hold its root, every block verified;
    when none does, from those of FALLBACK (peers no announcement names: probed only then);
    ``ContentUnavailable`` when none of either does. With LIMIT (replication), the DAG may not
    pass LIMIT bytes (``BudgetExceeded``) and a retrieval that fails leaves none of its blocks
    behind."""
    holders = await find_holders(cid, urls, session=session)
    others = [url for url in fallback if url not in urls]
    if not holders and others:
        holders = await find_holders(cid, others, session=session)
    if not holders:
        raise ContentUnavailable(f"none of {len(set(urls) | set(others))} peer(s) asked holds {cid}")
    return await retrieve(store, cid, holders, session=session, limit=limit,
                          keep_partial=limit is None)


async def drop_contents(index: Index, store: ContentStore, victims: list[ContentState]) -> int:
    """Delete the blocks of VICTIMS that no other held content needs; returns blocks deleted."""
    gone = {s.sha256 for s in victims}
    async with index.read() as conn:
        keep = [c for s, c in await rows.held_contents(conn) if s not in gone]
    deleted = await asyncio.to_thread(_delete_unshared, store.blocks, [s.cid for s in victims], keep)
    await held.refresh(index, store, gone)
    return deleted


def _delete_unshared(blocks: BlockStore, victims: list[str], keep: list[str]) -> int:
    doomed = dag_blocks(blocks, victims) - dag_blocks(blocks, keep)
    return sum(blocks.delete(CID(1, RAW, mh)) for mh in doomed)
