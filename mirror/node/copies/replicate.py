"""Replication: one round of plan -> drop -> fetch, within the node's storage budget.

    report = await replicate_round(node.index, node.store, node.session, me=node_id,
                                   settings=node.settings)
    if report.changed:
        await publish_holdings(...)          # tell the others what is held now

A round reads the known copies (``mirror.node.copies.census``), asks the planner for a batch
(``mirror.node.copies.planner``), deletes the contents it should drop, then fetches the chosen contents
(at once when the batch fits the budget left with twice each size plus ``RESERVE_SLACK`` for each,
every fetch bounded by that share, so together they cannot pass the budget; else one by one)
from their live holders (then from ``peers``) with ``mirror.node.copies.retrieve``: several holders at
once, every block verified, and the whole content checked against its sha256 and size before it
counts (``mirror.node.copies.verified``: a content not yet verified is fetched by its claims). Held
marks are updated as contents come and go. Run it every few
seconds while ``report.fetched`` is not empty, else every sync interval.

Dropping a content deletes only the blocks no other content held here needs (two files may
share blocks): the other held contents' DAGs are walked first, reading only their dag-pb nodes.
A content that a concurrent process adds at the very moment could lose a shared block; the next
``held`` check or ``verify --repair`` finds and fixes it.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

import aiohttp

from indexer import copies as rows
from indexer.copies import ContentState
from indexer.index import Index
from mirror.errors import BudgetExceeded, ContentUnavailable, MirrorError
from mirror import held
from mirror.node.copies import budget
from mirror.node.copies.budget import storage_budget
from mirror.node.copies.census import take_census, holder_urls
from mirror.node.copies.planner import Plan, PlanInput, make_plan
from mirror.node.copies.retrieve import RetrieveStats, find_holders, retrieve
from mirror.node.copies.verified import fetch_verified
from mirror.settings import Settings
from mirror.store import ContentStore
from mirror.store.blockstore import BlockStore
from mirror.store.cid import CID, RAW
from mirror.store.exporter import dag_blocks

BATCH = 8                    # contents fetched per round
RESERVE_SLACK = 64 * 1024    # bytes a parallel fetch may pass its content's size by (DAG nodes)


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


def plan_for(states: list[ContentState], *, me: str, settings: Settings, batch: int | None = BATCH) -> Plan:
    """The planner's answer for this node's settings (budget, copies, collection and licence filters)."""
    node = settings.node
    return make_plan(PlanInput(me, storage_budget(settings), states, copies=int(node.copies),
                               collections=tuple(node.collections), licenses=tuple(node.licenses),
                               max_fetch=batch))


async def replicate_round(index: Index, store: ContentStore, session: aiohttp.ClientSession, *, me: str,
                          settings: Settings, peers: Iterable[str] = (),
                          batch: int = BATCH) -> RoundReport:
    """Plan, drop and fetch one batch (see the module docstring)."""
    timeout = float(settings.node.holder_timeout)
    states = await take_census(index, me=me, holder_timeout=timeout,
                               copies=int(settings.node.copies))
    await asyncio.to_thread(budget.measure, store.blocks, states)
    plan = plan_for(states, me=me, settings=settings, batch=batch)
    report = RoundReport(wanted=plan.wanted, budget=plan.budget, used=plan.used)
    if plan.drop:
        report.blocks_deleted = await drop_contents(index, store, plan.drop)
        report.dropped = [s.sha256 for s in plan.drop]
        report.used -= sum(s.size for s in plan.drop)
    shares = [2 * s.size + RESERVE_SLACK for s in plan.fetch]
    if sum(shares) <= report.budget - report.used:       # room for every share at once: in parallel
        await asyncio.gather(*(_fetch_one(index, store, session, state, report, me=me, timeout=timeout,
                                          peers=peers, limit=share)
                               for state, share in zip(plan.fetch, shares)))
    else:
        for state in plan.fetch:
            await _fetch_one(index, store, session, state, report, me=me, timeout=timeout, peers=peers)
    if report.fetched:
        await held.refresh(index, store, report.fetched)
    return report


async def _fetch_one(index: Index, store: ContentStore, session: aiohttp.ClientSession,
                     state: ContentState, report: RoundReport, *, me: str, timeout: float,
                     peers: Iterable[str], limit: int | None = None) -> None:
    """Fetch one planned content within LIMIT bytes (its share of the budget), else within what is
    left of the budget; REPORT says how it went."""
    urls = [*await holder_urls(index, me=me, holder_timeout=timeout, sha256=state.sha256), *peers]
    limit = max(0, report.budget - report.used) if limit is None else limit
    try:
        stats = await fetch_verified(index, store, state.sha256,
                                     lambda cid: fetch_from(store, cid, urls, session, limit=limit))
    except BudgetExceeded as exc:
        report.failed.append({"sha256": state.sha256, "error": f"stopped at the storage budget: its "
                              f"DAG has more than the {exc.limit} bytes left (it declared "
                              f"{state.size}); what was fetched was removed"})
        return
    except (MirrorError, OSError) as exc:
        report.failed.append({"sha256": state.sha256, "error": str(exc)[:300]})
        return
    size = (await asyncio.to_thread(budget.dag_bytes, store.blocks, stats.cid))[0]
    report.bytes_fetched += stats.bytes
    report.fetched.append(state.sha256)
    report.used += size


async def fetch_from(store: ContentStore, cid: CID, urls: list[str],
                     session: aiohttp.ClientSession, *, limit: int | None = None) -> RetrieveStats:
    """Retrieve the DAG under CID from those of URLS that hold its root, every block verified;
    ``ContentUnavailable`` when none does. With LIMIT (replication), the DAG may not pass LIMIT
    bytes (``BudgetExceeded``) and a retrieval that fails leaves none of its blocks behind."""
    holders = await find_holders(cid, urls, session=session)
    if not holders:
        raise ContentUnavailable(f"none of {len(set(urls))} peer(s) asked holds {cid}")
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
