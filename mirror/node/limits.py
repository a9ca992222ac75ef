"""Every bound the node puts on what it reads and serves (protocol §8), and per-address rate limits.

Everything a peer sends is hostile until verified: bodies are read with a byte cap, every request
has a timeout, and each client address draws requests from a token bucket.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from mirror.feed.codec import PAGE_DEFAULT_ENTRIES, PAGE_MAX_BYTES, PAGE_MAX_ENTRIES

MAX_JSON_REQUEST = 64 << 10        # a JSON body a client may send us
MAX_NOTIFY = 4 << 10               # a notify body
MAX_JSON_RESPONSE = 4 << 20        # a JSON body we read from a peer
MAX_URL = 2048                     # a peer URL
FEEDS_PAGE = 1000                  # feeds listed per response
MAX_FEEDS_LISTED = 100_000         # feeds read from one peer in one sync
PEERS_LISTED = 100                 # peers listed per response
MAX_LEARNED_PEERS = 200            # learned peers kept
FORKS_LISTED = 100
PAGE_ENTRIES = PAGE_DEFAULT_ENTRIES
SERVER_BODY_TIMEOUT = 30.0         # seconds to receive a request body
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0

__all__ = ["PAGE_MAX_BYTES", "PAGE_MAX_ENTRIES", "TokenBucket", "RateLimiter", "Timeouts"]


@dataclass(frozen=True)
class Timeouts:
    """Client timeouts for requests to peers (seconds)."""

    connect: float = CONNECT_TIMEOUT
    read: float = READ_TIMEOUT
    total: float = 120.0


class TokenBucket:
    """RATE tokens per second, holding at most BURST."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = burst, time.monotonic()

    def take(self, now: float | None = None) -> float:
        """0.0 when a token was taken; otherwise the seconds until one will be available."""
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate if self.rate > 0 else 60.0


class RateLimiter:
    """One token bucket per (client address, class of request), for at most MAX_CLIENTS addresses
    (the least recently seen are forgotten first, so memory stays bounded)."""

    MAX_CLIENTS = 10_000

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: OrderedDict[tuple[str, str], TokenBucket] = OrderedDict()

    def check(self, address: str, kind: str = "any") -> float:
        """0.0 when the request may go on; otherwise the seconds the client should wait."""
        if self.rate <= 0:
            return 0.0
        key = (address, kind)
        bucket = self._buckets.get(key)
        if bucket is None:
            notify = kind == "notify"          # notifies: a quarter of the rate, a fifth of the burst
            bucket = self._buckets[key] = TokenBucket(self.rate / 4 if notify else self.rate,
                                                      max(1.0, self.burst / 5 if notify else self.burst))
            if len(self._buckets) > self.MAX_CLIENTS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket.take()
