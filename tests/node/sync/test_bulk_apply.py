"""A pull applies the verified pages waiting in its queue as one run: large transactions when the
index writes are slower than the peer, each page at once when they are not."""

from __future__ import annotations

import asyncio
import gc

from mirror.feed.entry import Entry
from mirror.node.limits import APPLY_ENTRIES
from mirror.node.sync import pull
from tests.feed.test_entry import chain

PAGES = chain(25)


async def test_waiting_pages_are_taken_as_one_run_of_at_most_apply_entries() -> None:
    queue: asyncio.Queue[list[Entry] | None] = asyncio.Queue()
    per_page = APPLY_ENTRIES // 4 + 1            # four pages pass the limit, three do not
    fake = [[PAGES[0]] * per_page for _ in range(6)]
    for page in fake:
        queue.put_nowait(page)
    queue.put_nowait(None)
    first = await pull._take_run(queue)
    second = await pull._take_run(queue)
    assert first is not None and second is not None
    assert len(first) == 4 * per_page > APPLY_ENTRIES        # stops once past the limit
    assert len(second) == 2 * per_page                        # the rest, up to the end
    assert await pull._take_run(queue) is None                # the end, seen once the pages are taken


async def test_a_lone_page_is_applied_as_soon_as_it_arrives() -> None:
    queue: asyncio.Queue[list[Entry] | None] = asyncio.Queue()
    taker = asyncio.create_task(pull._take_run(queue))
    await asyncio.sleep(0)
    queue.put_nowait(PAGES[:3])
    assert await asyncio.wait_for(taker, 5) == PAGES[:3]


def test_collections_are_spaced_during_bulk_pulls_and_restored_after() -> None:
    before = gc.get_threshold()
    with pull._fewer_collections(True):
        with pull._fewer_collections(True):
            assert gc.get_threshold()[0] == max(before[0], pull.BULK_GC_THRESHOLD)
        assert gc.get_threshold()[0] == max(before[0], pull.BULK_GC_THRESHOLD)
    assert gc.get_threshold() == before
    with pull._fewer_collections(False):
        assert gc.get_threshold() == before
