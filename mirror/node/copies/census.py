"""Known copies: how many live copies each content has, and the health figures ``status`` shows.

    states = await take_census(index, me=node_id, holder_timeout=600)   # list[ContentState]
    figures = health(states, copies=3, budget=10 << 30)                    # the status fields

A copy is *live* when its holder's announcement (or a passed audit) is younger than
``node.holder_timeout`` and the holder has not failed its latest audit (``indexer.copies``).
Reads run in one read-only snapshot of the index (``index.read()``).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from mirror.node.copies.budget import usage
from mirror.units import format_size
from indexer.clock import entry_time
from indexer.tallies import COPIES_SHOWN

if TYPE_CHECKING:
    from indexer.copies import ContentState
    from indexer.index import Index


def live_cutoff(holder_timeout: float, now: datetime | None = None) -> str:
    """The oldest ``seen_at`` that still counts as live."""
    moment = (now or datetime.now(timezone.utc)) - timedelta(seconds=holder_timeout)
    return entry_time(moment)


async def take_census(index: Index, *, me: str, holder_timeout: float,
                         copies: int | None = None) -> list[ContentState]:
    """Every content of a live document with its live copies on other nodes (see ``ContentState``);
    with COPIES, only those a replication plan for that target can act on (not own; held here or
    under-replicated): what the planner needs, in memory proportional to it."""
    from indexer import copies as copy_rows         # SQLAlchemy: not for ``status`` (live_cutoff)

    async with index.read() as conn:
        return await copy_rows.content_states(conn, me=me, cutoff=live_cutoff(holder_timeout),
                                              copies=copies)


async def holder_urls(index: Index, *, me: str, holder_timeout: float, sha256: str | None = None) -> list[str]:
    """URLs of live, trusted holders of one content (SHA256), or of every live node (None)."""
    from indexer import copies as copy_rows

    cutoff = live_cutoff(holder_timeout)
    async with index.read() as conn:
        if sha256 is None:
            found = await copy_rows.live_holders(conn, cutoff=cutoff, me=me)
        else:
            found = await copy_rows.holders_of(conn, sha256, cutoff=cutoff, me=me)
    return [url for _author, url in found]


def health(states: list[ContentState], *, copies: int, budget: int) -> dict[str, Any]:
    """The diffusion fields of ``status``: budget and its use, ``under_replicated`` (contents with
    fewer than COPIES known live copies, this node's included), and per collection the contents,
    those held here and the distribution of known copies (``{"0": n, "1": n, …}``)."""
    spent = usage(states, budget)
    per_collection: dict[str, dict[str, Any]] = {}
    for state in states:
        for name in state.collections:
            entry = per_collection.setdefault(name, {"contents": 0, "held": 0, "under_replicated": 0,
                                                     "copies": Counter()})
            entry["contents"] += 1
            entry["held"] += state.held
            entry["under_replicated"] += state.total_copies < copies
            entry["copies"][_bucket(state.total_copies, copies)] += 1
    for entry in per_collection.values():
        entry["copies"] = dict(sorted(entry["copies"].items(), key=lambda kv: int(kv[0].rstrip("+"))))
    return {"storage_budget": budget, "storage_budget_used": spent.used, "own_bytes": spent.own,
            "copies_target": copies, "contents": len(states),
            "under_replicated": sum(1 for s in states if s.total_copies < copies),
            "collections": dict(sorted(per_collection.items()))}


def capacity(states: list[ContentState], *, copies: int, free: int,
             others: list[tuple[int, int]]) -> dict[str, Any]:
    """``shortfall`` counted from STATES."""
    missing = missing_bytes = takeable = 0
    for state in states:
        lack = max(0, copies - state.total_copies)
        missing += lack
        missing_bytes += lack * state.size
        takeable += state.size if lack and not state.held else 0
    return shortfall({"contents": len(states), "copies_missing": missing,
                      "copies_missing_bytes": missing_bytes, "takeable": takeable},
                     copies=copies, free=free, others=others)


def shortfall(tallies: dict[str, int], *, copies: int, free: int,
              others: list[tuple[int, int]]) -> dict[str, Any]:
    """Whether the network can give every content COPIES copies: ``network_nodes`` (this node and
    the live nodes announcing), ``copies_missing`` and ``copies_missing_bytes`` (the copies, and
    their bytes, that contents lack to reach COPIES), ``network_free`` (the room for them: budget
    minus used as OTHERS announce it, and of FREE here only what the missing contents not held
    here could take, TALLIES' ``takeable``), and ``warnings`` (sentences; empty when nothing is
    short). A node holds one copy of a content at most, so fewer nodes than COPIES cannot reach
    the target whatever their budgets, and missing bytes above the room cannot either. TALLIES
    are ``indexer.tallies.copy_tallies`` (or the same counted from states: ``capacity``)."""
    missing, missing_bytes = tallies["copies_missing"], tallies["copies_missing_bytes"]
    nodes = 1 + len(others)
    room = min(max(0, free), tallies["takeable"]) + sum(max(0, budget - used) for budget, used in others)
    warnings = []
    if nodes < copies and tallies["contents"]:
        warnings.append(f"only {nodes} live node(s) known: no content can have {copies} copies")
    if missing_bytes > room:
        warnings.append(f"the network's free capacity ({format_size(room)}) cannot give every "
                        f"document {copies} copies: {missing} copies ({format_size(missing_bytes)}) "
                        f"are missing")
    return {"network_nodes": nodes, "network_free": room, "copies_missing": missing,
            "copies_missing_bytes": missing_bytes, "warnings": warnings}


def _bucket(count: int, target: int) -> str:
    top = max(target, COPIES_SHOWN)
    return f"{top}+" if count >= top else str(count)
