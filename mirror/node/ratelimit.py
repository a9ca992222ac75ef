"""The upload limiter: a token bucket shared by every response body a node sends.

``node.upload_rate`` (bytes per second, 0 for no limit) caps what a node serves to others, so a
volunteer can give a share of its uplink, and so benchmarks can give every holder the same rate.

The bucket holds at most ``burst`` bytes of credit and refills at ``rate``. ``take(n)`` waits until
``n`` bytes of credit are available; a request larger than the burst (one 2 MiB block with a small
burst) is allowed to borrow, and the debt delays the next callers, so the long-run average never
exceeds ``rate``. Callers are served in arrival order: each reserves its bytes, then sleeps until
the reservation is covered, which makes the bucket fair and lets many responses share it without a
lock or a background task.
"""

from __future__ import annotations

import asyncio
import time

DEFAULT_BURST_SECONDS = 0.05     # credit a quiet bucket may hold: 50 ms worth of the rate
MIN_BURST = 64 * 1024            # ... but at least one typical network read


class UploadLimiter:
    """A token bucket of bytes: limits what passes through ``take``; see the module docstring."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("a token bucket needs a positive rate")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(rate * DEFAULT_BURST_SECONDS, MIN_BURST))
        self._credit = self.burst
        self._stamp = time.monotonic()
        self.taken = 0               # bytes that went through, for reports and tests

    def _refill(self) -> None:
        now = time.monotonic()
        self._credit = min(self.burst, self._credit + (now - self._stamp) * self.rate)
        self._stamp = now

    def delay_for(self, nbytes: int) -> float:
        """Reserve ``nbytes`` now; returns the seconds to wait before sending them."""
        self._refill()
        self._credit -= nbytes
        self.taken += nbytes
        return 0.0 if self._credit >= 0 else -self._credit / self.rate

    async def take(self, nbytes: int) -> None:
        """Wait until ``nbytes`` may be sent."""
        if nbytes <= 0:
            return
        delay = self.delay_for(nbytes)
        if delay > 0:
            await asyncio.sleep(delay)


def limiter_for(rate: int | float) -> UploadLimiter | None:
    """A bucket for a ``node.upload_rate`` value, or None when the rate is 0 (no limit)."""
    return UploadLimiter(rate) if rate and rate > 0 else None
