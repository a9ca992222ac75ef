"""The storage budget: how many bytes of other nodes' content this node may hold, and how many
it holds, counted from the blocks on disk.

``--storage SIZE`` (``serve``, ``join``) and the ``node.storage`` setting take bytes or a size
with a unit (``300KB``, ``20GB``, ``20GiB``; ``mirror.settings.parse_size``). Only *others'*
content counts: what this node mirrored or added (*own* content) is always kept and never counted.

Sizes are never taken from an entry or a peer (a liar could declare 1 KB for a 1 GB DAG, or the
reverse to crowd out honest content). ``measure`` sets the size of every held content of others
to the bytes of its DAG's distinct blocks in the blockstore (``dag_bytes``), the same figure on
every node, since a CID names exactly one DAG; blocks two contents share are counted for each, so
the figure can only overstate what is on disk. A fetch is bounded by what is left of the budget
and counts its blocks as they arrive (``mirror.node.copies.retrieve``: ``limit``); when a DAG
passes that, the fetch stops, its blocks are removed, and ``remember_at_least`` keeps what was
learned (the DAG is bigger than it said) so the planner does not try again while it cannot fit.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Iterable

from indexer import tallies
from indexer.read import Query
from mirror.errors import MirrorError
from mirror.settings import Settings, parse_size
from mirror.store.blockstore import BlockStore
from mirror.store.cid import CID, DAG_PB, IDENTITY
from mirror.store.dagpb import decode_node

if TYPE_CHECKING:
    from indexer.copies import ContentState
    from indexer.index import Index

MEASURE_PAGE = 2_000         # held contents measured per read and write
KNOWN_SIZES = 100_000        # DAG sizes remembered (a CID's complete DAG never changes)

_sizes: OrderedDict[str, int] = OrderedDict()      # CID -> bytes of its complete DAG
_at_least: OrderedDict[str, int] = OrderedDict()   # CID -> bytes a fetch passed without finishing


@dataclass(frozen=True)
class Usage:
    budget: int          # bytes of others' content this node may hold
    used: int            # bytes of others' content it holds
    own: int             # bytes of its own content it holds (not counted)

    @property
    def free(self) -> int:
        return max(0, self.budget - self.used)

    @property
    def over(self) -> int:
        """Bytes held beyond the budget (after the budget shrank); 0 normally."""
        return max(0, self.used - self.budget)


def storage_budget(settings: Settings, flag: str | int | None = None) -> int:
    """The budget in bytes: the ``--storage`` FLAG when given, else ``node.storage``."""
    return parse_size(flag) if flag is not None else int(settings.node.storage)


def usage(states: Iterable[ContentState], budget: int) -> Usage:
    """What the held contents among STATES use of BUDGET (sizes as ``measure`` set them)."""
    used = own = 0
    for state in states:
        if state.held:
            if state.own:
                own += state.size
            else:
                used += state.size
    return Usage(budget=budget, used=used, own=own)


def dag_bytes(blocks: BlockStore, cid_text: str, *, remember: bool = True) -> tuple[int, bool]:
    """(bytes of the distinct blocks under CID_TEXT present in BLOCKS, whether the DAG is complete).
    Reads only the dag-pb nodes; the leaves are measured with one ``stat`` each. REMEMBER: keep
    the figure of a complete DAG in memory (not for figures the index keeps)."""
    known = _sizes.get(cid_text)
    if known is not None:
        return known, True
    try:
        stack = [CID.decode(cid_text)]
    except (MirrorError, ValueError):
        return 0, False
    seen: set[bytes] = set()
    total, complete = 0, True
    while stack:
        cid = stack.pop()
        if cid.multihash in seen or cid.hash_code == IDENTITY:
            continue
        seen.add(cid.multihash)
        try:
            total += blocks.size(cid)
            if cid.codec == DAG_PB:
                stack.extend(CID.from_bytes(link.hash) for link in decode_node(blocks.get(cid)).links)
        except (MirrorError, ValueError):
            complete = False
    if complete and remember:
        _remember(_sizes, cid_text, total)
    return total, complete


def remember_at_least(cid_text: str, size: int) -> None:
    """A fetch of CID_TEXT passed SIZE bytes without finishing: its DAG is bigger than that."""
    _remember(_at_least, cid_text, max(size, _at_least.get(cid_text, 0)))


def measure(blocks: BlockStore, states: Iterable[ContentState]) -> None:
    """Give every state of others' content its real size: held ones the bytes of their DAG on
    disk, wanted ones at least what an earlier fetch learned. Runs in a worker thread (it stats
    block files); own contents keep their size (they are never counted)."""
    for state in states:
        if state.own:
            continue
        if state.held:
            state.size = dag_bytes(blocks, state.cid)[0]
        elif state.cid in _at_least:
            state.size = max(state.size, _at_least[state.cid])


async def measure_held(index: Index, blocks: BlockStore, *, me: str, keep: bool = True) -> int:
    """Measure the held contents of others whose size is not measured yet (``held_contents.bytes``), a page
    at a time, and store the figures (KEEP false: a read-only home, nothing stored); returns the
    bytes measured and not stored. Each content is measured once while it stays held."""
    from indexer import copy_plans

    after, unstored = 0, 0
    while True:
        page = await index.read_query(partial(tallies.unmeasured_held, me=me, after=after, limit=MEASURE_PAGE))
        if not page:
            return unstored
        sizes = await asyncio.to_thread(_measure_page, blocks, page)
        if keep:
            async with index.transaction() as tx:
                await copy_plans.set_held_bytes(await tx.connection(), sizes)
        else:
            unstored += sum(sizes.values())
        after = page[-1][0]


def unmeasured_bytes(query: Query, blocks: BlockStore, *, me: str) -> int:
    """``measure_held`` with nothing stored, from synchronous code reading through QUERY (one
    snapshot): the bytes on disk of the held contents of others not measured yet."""
    after, total = 0, 0
    while page := tallies.unmeasured_held(query, me=me, after=after, limit=MEASURE_PAGE):
        total += sum(_measure_page(blocks, page).values())
        after = page[-1][0]
    return total


def _measure_page(blocks: BlockStore, page: list[tuple[int, str]]) -> dict[int, int]:
    return {content_id: dag_bytes(blocks, cid, remember=False)[0] for content_id, cid in page}


def _remember(table: OrderedDict[str, int], key: str, value: int) -> None:
    table[key] = value
    table.move_to_end(key)
    while len(table) > KNOWN_SIZES:
        table.popitem(last=False)
