"""Politeness: per-host slots, spacing between request starts, and a global concurrency limit.

A *host* is an origin (``scheme://host:port``), the unit robots.txt speaks for. For every host:

- at most ``per_host`` requests are in flight;
- request starts are at least ``interval`` seconds apart, where ``interval`` is the larger of the run's
  ``delay`` and the host's robots.txt Crawl-delay (or Request-rate), the latter capped at
  ``MAX_CRAWL_DELAY`` so a hostile robots.txt cannot stall a run;
- ``defer(host, seconds)`` pushes the next start back (Retry-After, backoff), so every request to that
  host waits, not only the one being retried.

Starts pass one at a time through a per-host gate; the global slot is taken inside the gate, right
before the start, so no global slot is held while a host's spacing runs down.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import AsyncIterator

from mirror.errors import ConfigError

MAX_CRAWL_DELAY = 60.0


@dataclass
class _Host:
    slots: asyncio.Semaphore
    interval: float
    gate: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_start: float = 0.0


class Politeness:
    """Per-host and global limits for one run."""

    def __init__(self, per_host: int, delay: float, concurrency: int) -> None:
        if per_host < 1 or concurrency < 1:
            raise ConfigError(f"per-host and concurrency limits must be at least 1 "
                              f"(got {per_host} and {concurrency})")
        if delay < 0:
            raise ConfigError(f"the delay between requests cannot be negative: {delay}")
        self.per_host = per_host
        self.delay = delay
        self._global = asyncio.Semaphore(concurrency)
        self._hosts: dict[str, _Host] = {}

    def _host(self, key: str) -> _Host:
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = _Host(asyncio.Semaphore(self.per_host), self.delay)
        return host

    def interval(self, key: str) -> float:
        return self._host(key).interval

    def set_crawl_delay(self, key: str, seconds: float) -> None:
        """Apply a robots.txt Crawl-delay: the larger of it (capped) and the run's delay."""
        self._host(key).interval = max(self.delay, min(max(seconds, 0.0), MAX_CRAWL_DELAY))

    def defer(self, key: str, seconds: float) -> None:
        """No request to ``key`` starts within ``seconds`` from now."""
        host = self._host(key)
        host.next_start = max(host.next_start, time.monotonic() + max(seconds, 0.0))

    @asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        """Hold a request slot for ``key``; entering waits for the host's turn and a global slot."""
        host = self._host(key)
        async with host.slots:
            async with host.gate:
                while (wait := host.next_start - time.monotonic()) > 0:  # noqa: ASYNC110 - a timed wait: defer() may move next_start
                    await asyncio.sleep(wait)
                await self._global.acquire()
                host.next_start = time.monotonic() + host.interval
            try:
                yield
            finally:
                self._global.release()
