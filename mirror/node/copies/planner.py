"""The replication planner: what this node should fetch and drop. Pure logic, no I/O.

    plan = make_plan(PlanInput(node_id, budget, states, copies=3, collections=(), licenses=()))
    plan.fetch      # contents to fetch, in order (scarcest first)
    plan.drop       # contents to delete from the local store (never own content)

Inputs are ``ContentState`` values (``indexer.copies``): each content's size, collections and
licences, its known live copies on *other* nodes (and, for held contents, who they are), whether
this node holds it and whether it is *own* (a document this node mirrored or added). Rules:

* own content is always kept, never fetched by the planner and never counted in the budget;
* the budget caps the bytes of other nodes' content held here: the plan never needs more;
* a content is *wanted* when it passes the filters (``node.collections``, ``node.licenses``; empty
  means all; a licence filter may use ``*`` wildcards), is not held, and has fewer than K live
  copies; wanted contents are fetched scarcest first (fewest copies), ties broken by the
  rendezvous rank of (node id, sha256), so nodes with the same view pick different items;
* a held content is *surplus* when it fails the filters, or when it has more than K live copies
  counting this one and this node is not among the K holders with the best rendezvous rank for
  it: every holder sharing the same view agrees on which K keep their copy, so surplus drops can
  never take a content below K. Surplus is dropped only to make room for a wanted content;
* when the node holds more than its budget (the budget shrank), contents are dropped until it
  fits: surplus first, then those with the most other copies (rank breaks ties).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Callable, Iterable

from indexer.copies import ContentState


@dataclass(frozen=True)
class PlanInput:
    node_id: str
    budget: int                                   # bytes of others' content this node may hold
    states: list[ContentState]
    copies: int = 3                               # the target K
    collections: tuple[str, ...] = ()             # empty: every collection
    licenses: tuple[str, ...] = ()                # empty: every licence
    max_fetch: int | None = None                  # plan at most this many fetches (a batch)
    max_bytes: int | None = None                  # ... and this many bytes of them (one at least)
    held_bytes: int = 0                           # bytes of others' content held, not in STATES


@dataclass
class Plan:
    """What to do; ``used`` is the bytes of others' content held now, ``after`` once done."""

    fetch: list[ContentState] = field(default_factory=list)
    drop: list[ContentState] = field(default_factory=list)
    used: int = 0
    after: int = 0
    budget: int = 0
    wanted: int = 0                               # wanted contents, fetched or not

    @property
    def fetch_bytes(self) -> int:
        return sum(s.size for s in self.fetch)


def rank(node_id: str, sha256: str) -> int:
    """The rendezvous rank of a content for a node: lower means this node prefers it (the first
    8 bytes of sha256(node id, NUL, content sha256 in lower case), big-endian)."""
    return ranker(node_id)(sha256)


def ranker(node_id: str) -> Callable[[str], int]:
    """``rank`` for one node, for many contents (the node's part of the hash is computed once)."""
    base = hashlib.sha256(f"{node_id}\x00".encode())

    def rank_of(sha256: str) -> int:
        digest = base.copy()
        digest.update(sha256.lower().encode())
        return int.from_bytes(digest.digest()[:8], "big")
    return rank_of


def matches(state: ContentState, collections: Iterable[str], licenses: Iterable[str]) -> bool:
    """True when STATE passes the collection and licence filters (empty filters pass all)."""
    return _filter(collections, licenses)(state)


def _filter(collections: Iterable[str], licenses: Iterable[str]) -> Callable[[ContentState], bool]:
    wanted_collections = frozenset(collections)
    patterns = [p.lower() for p in licenses]

    def passes(state: ContentState) -> bool:
        if wanted_collections and wanted_collections.isdisjoint(state.collections):
            return False
        if not patterns:
            return True
        return any(fnmatchcase(lic.lower(), p) for lic in state.licenses for p in patterns)
    return passes


def is_extra(state: ContentState, node_id: str, copies: int) -> bool:
    """True when NODE_ID holds one of more than COPIES copies and is not among the COPIES
    holders that keep theirs (the best rendezvous ranks among its known holders)."""
    holders = set(state.holders) | {node_id}
    if len(holders) <= copies:
        return False
    keepers = sorted(holders, key=lambda n: rank(n, state.sha256))[:copies]
    return node_id not in keepers


def make_plan(request: PlanInput) -> Plan:
    """The fetch and drop lists for one node (see the module docstring)."""
    me, k = request.node_id, request.copies
    rank_of = ranker(me)
    test = _filter(request.collections, request.licenses)
    others = [s for s in request.states if not s.own]
    passes = {s.sha256: test(s) for s in others}
    held = [s for s in others if s.held]
    plan = Plan(used=sum(s.size for s in held) + request.held_bytes, budget=request.budget)
    surplus = sorted((s for s in held if not passes[s.sha256] or is_extra(s, me, k)),
                     key=lambda s: (passes[s.sha256], -s.copies, -rank_of(s.sha256)))
    free = request.budget - plan.used
    if free < 0:
        free += _shrink(plan, held, surplus, -free, me)
    wanted = sorted((s for s in others if not s.held and passes[s.sha256] and s.copies < k),
                    key=lambda s: (s.copies, rank_of(s.sha256)))
    plan.wanted = len(wanted)
    spare, victims = sum(s.size for s in surplus), iter(surplus)
    for state in wanted:
        if _full(request, plan, state):
            break
        if free < state.size <= free + spare:
            while free < state.size:
                victim = next(victims)
                plan.drop.append(victim)
                free, spare = free + victim.size, spare - victim.size
        if free >= state.size:
            plan.fetch.append(state)
            free -= state.size
    plan.after = request.budget - free
    return plan


def _full(request: PlanInput, plan: Plan, state: ContentState) -> bool:
    """True when the batch is full: MAX_FETCH contents, or STATE would take it past MAX_BYTES."""
    if request.max_fetch is not None and len(plan.fetch) >= request.max_fetch:
        return True
    return (request.max_bytes is not None and bool(plan.fetch)
            and plan.fetch_bytes + state.size > request.max_bytes)


def _shrink(plan: Plan, held: list[ContentState], surplus: list[ContentState], excess: int,
            me: str) -> int:
    """Drop held contents until EXCESS bytes are freed, surplus first (removed from SURPLUS).
    Returns the bytes freed."""
    extra = {s.sha256 for s in surplus}
    rest = sorted((s for s in held if s.sha256 not in extra), key=lambda s: (-s.copies, -rank(me, s.sha256)))
    order = surplus[:] + rest
    freed = dropped = 0
    while freed < excess and dropped < len(order):
        freed += order[dropped].size
        dropped += 1
    plan.drop += order[:dropped]
    del surplus[:min(dropped, len(surplus))]
    return freed
