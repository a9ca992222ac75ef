"""Every bound the node puts on what it reads and serves (protocol §8), per-address rate limits
and the upload limiter.

Everything a peer sends is hostile until verified: bodies are read with a byte cap, every request
has a timeout, and each client address draws requests from a token bucket. So does each address
*prefix* (``address_prefix``: the /24 of an IPv4 address, the /64 of an IPv6 one, the unit a
client gets from its provider) at ``PREFIX_FACTOR`` times the rate, so that spreading a flood over
the addresses of one network buys little.
"""

from __future__ import annotations

import asyncio
import ipaddress
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
MAX_LEARNED_PER_ANNOUNCER = 20     # ... of them named by one peer (or one notifying prefix)
FORKS_LISTED = 100
PAGE_ENTRIES = PAGE_DEFAULT_ENTRIES
APPLY_ENTRIES = 10_000             # verified entries a pull applies in one index transaction, at most
PAGES_AHEAD = 8                    # verified pages a pull holds while the previous ones are applied
SERVER_BODY_TIMEOUT = 30.0         # seconds to receive a request body
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
PREFIX_FACTOR = 4                  # a /24 or /64 may do 4x what one address may (requests, connections)

__all__ = ["PAGE_MAX_BYTES", "PAGE_MAX_ENTRIES", "PrefixBudget", "RateLimiter", "Timeouts", "TokenBucket",
           "UploadLimiter", "address_prefix", "limiter_for"]


def address_prefix(address: str) -> str:
    """The network a client address belongs to for limits: ``203.0.113.0/24`` for an IPv4
    address (IPv4-mapped IPv6 included), ``2001:db8:1:2::/64`` for an IPv6 one; anything that is
    not an IP address (a Unix socket, an unknown peer) is its own prefix."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    bits = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))


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

    def take(self, now: float | None = None, cost: float = 1.0) -> float:
        """0.0 when COST tokens were taken; otherwise the seconds until they will be available."""
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= cost:
            self.tokens -= cost
            return 0.0
        return (cost - self.tokens) / self.rate if self.rate > 0 else 60.0


class RateLimiter:
    """One token bucket per (client address, class of request) and one per (address prefix,
    class) at ``PREFIX_FACTOR`` times the rate and burst, for at most MAX_CLIENTS keys (the least
    recently seen are forgotten first, so memory stays bounded)."""

    MAX_CLIENTS = 20_000

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: OrderedDict[tuple[str, str], TokenBucket] = OrderedDict()

    def check(self, address: str, kind: str = "any") -> float:
        """0.0 when the request may go on; otherwise the seconds the client should wait."""
        if self.rate <= 0:
            return 0.0
        wait = self._bucket(address, kind, 1).take()
        prefix = address_prefix(address)
        if wait > 0 or prefix == address:
            return wait
        return self._bucket(prefix, kind, PREFIX_FACTOR).take()

    def _bucket(self, who: str, kind: str, factor: int) -> TokenBucket:
        key = (who, kind)
        bucket = self._buckets.get(key)
        if bucket is None:
            notify = kind == "notify"          # notifies: a quarter of the rate, a fifth of the burst
            rate = self.rate / 4 if notify else self.rate
            burst = max(1.0, self.burst / 5 if notify else self.burst)
            bucket = self._buckets[key] = TokenBucket(rate * factor, burst * factor)
            if len(self._buckets) > self.MAX_CLIENTS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket


class PrefixBudget:
    """A budget of work (bytes, say) per address prefix: RATE per second, at most BURST saved, for
    at most ``RateLimiter.MAX_CLIENTS`` prefixes (least recently charged forgotten first)."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def charge(self, address: str, cost: float) -> float:
        """0.0 when ADDRESS's prefix may spend COST now (it is spent); otherwise the seconds to wait."""
        prefix = address_prefix(address)
        bucket = self._buckets.pop(prefix, None) or TokenBucket(self.rate, self.burst)
        self._buckets[prefix] = bucket
        if len(self._buckets) > RateLimiter.MAX_CLIENTS:
            self._buckets.popitem(last=False)
        return bucket.take(cost=cost)


# -- the upload limiter ---------------------------------------------------------------------------
# A token bucket of bytes shared by every response body a node sends: ``node.upload_rate`` (bytes
# per second, 0 for no limit) caps what a node serves to others, so a volunteer can give a share
# of its uplink. The bucket holds at most ``burst`` bytes of credit and refills at ``rate``;
# ``take(n)`` waits until ``n`` bytes of credit are available. A request larger than the burst
# (one 2 MiB block with a small burst) may borrow, and the debt delays the next callers, so the
# long-run average never exceeds ``rate``. Callers are served in arrival order: each reserves its
# bytes, then sleeps until the reservation is covered (fair, no lock, no background task).

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
