"""A download rate limit shared by every request of a run (wget's ``--limit-rate``).

    throttle = Throttle(500 * 1024)        # bytes per second; 0: no limit
    await throttle.take(len(chunk))        # after each chunk read from the network

Each chunk reserves its share of time on one clock; a reader that is ahead of it sleeps until
its share is due (less ``BURST`` seconds of slack, so small reads do not each sleep). Reading
less often lets TCP slow the sender down: the limit holds on the wire, not only in memory.
"""

from __future__ import annotations

import asyncio

BURST = 0.25          # seconds of transfer allowed ahead of the clock


class Throttle:
    def __init__(self, rate: int) -> None:
        self.rate = max(0, int(rate))
        self._due = 0.0                    # loop time by which every byte taken may have passed

    async def take(self, size: int) -> None:
        if self.rate <= 0 or size <= 0:
            return
        now = asyncio.get_running_loop().time()
        self._due = max(self._due, now) + size / self.rate
        wait = self._due - now - BURST
        if wait > 0:
            await asyncio.sleep(wait)
