"""Run a coroutine over many items a few at a time, yielding the results in input order.

Sources use it to read several landing pages or sitemap pages at once while still yielding their
records (and the checkpoint after them) in list order. The fetcher enforces politeness per host;
this only bounds how many of the source's own requests are queued at once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import AsyncIterator, Awaitable, Callable, Iterable, TypeVar

T = TypeVar("T")
R = TypeVar("R")


async def map_ordered(fn: Callable[[T], Awaitable[R]], items: Iterable[T],
                      limit: int = 4) -> AsyncIterator[R]:
    """Yield ``await fn(item)`` for each item, in order, with at most ``limit`` running."""
    window: deque[asyncio.Task[R]] = deque()
    try:
        for item in items:
            window.append(asyncio.ensure_future(fn(item)))
            if len(window) >= limit:
                yield await window.popleft()
        while window:
            yield await window.popleft()
    finally:
        for task in window:
            task.cancel()
        if window:
            await asyncio.gather(*window, return_exceptions=True)
