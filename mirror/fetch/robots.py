"""robots.txt, fetched once per host (scheme, name and port) and obeyed (RFC 9309 spirit), read by
protego.

What the answer to ``GET /robots.txt`` means:

- 2xx: the rules (the first ``ROBOTS_MAX`` bytes are read; the rest is ignored). Crawl-delay and
  Request-rate for our User-Agent set the host's spacing (see ``politeness``).
- 404/410 and other 4xx (401/403 too, as RFC 9309 says): no rules, everything allowed.
- 429, 5xx, timeouts and connection failures, after the fetcher's retries: the host is *unreachable*;
  RFC 9309 says to assume a complete disallow. We hold the host back for ``UNREACHABLE_HOLD`` seconds:
  fetches raise ``RobotsUnavailable`` (retryable: a later run tries again) and ``allowed()`` says no.
  After the hold, robots.txt is fetched again.
- Other failures (too many redirects, a malformed response): no usable rules, everything allowed.
- An address the address policy refuses (``AddressRefused``) is no answer at all: it is raised to
  the fetch that needed the rules, and nothing is cached (every fetch of that host is refused).

``/robots.txt`` itself is always allowed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

from protego import Protego
from yarl import URL

from mirror.errors import AddressRefused, BadStatus, FetchError, HostUnreachable, RobotsUnavailable

log = logging.getLogger(__name__)

ROBOTS_MAX = 512 * 1024          # RFC 9309: parse at least 500 KiB
UNREACHABLE_HOLD = 60.0          # seconds a host with an unreachable robots.txt is held back


def host_key(url: str) -> str:
    """``scheme://host:port`` of a URL, lower-cased, with the port always written."""
    u = URL(url)
    return f"{(u.scheme or '').lower()}://{(u.host or '').lower()}:{u.port}"


@dataclass
class _Rules:
    parser: Protego | None = None           # None: everything allowed
    failure: FetchError | None = None       # robots.txt unreachable
    until: float = 0.0                      # ... until this monotonic time


def _parse(text: str) -> Protego | None:
    try:
        return Protego.parse(text)
    except Exception:  # hostile input; protego's parse errors are not documented
        log.warning("unreadable robots.txt; treating it as empty", exc_info=True)
        return None


class RobotsCache:
    """Rules per host, loaded on first use with ``load(host) -> text | None`` (None: no rules)."""

    def __init__(self, user_agent: str, load: Callable[[str], Awaitable[str | None]],
                 on_delay: Callable[[str, float], None]) -> None:
        self.user_agent = user_agent
        self._load = load
        self._on_delay = on_delay
        self._rules: dict[str, _Rules] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def can_fetch(self, url: str) -> bool:
        """True when robots.txt allows ``url``; raises ``RobotsUnavailable`` while the host is held."""
        if URL(url).path == "/robots.txt":
            return True
        host = host_key(url)
        rules = await self._rules_for(host)
        if rules.failure is not None:
            if isinstance(rules.failure, HostUnreachable):     # the host itself: say just that
                raise RobotsUnavailable(rules.failure.message, retryable=True,
                                        hint=rules.failure.hint) from rules.failure
            raise RobotsUnavailable(f"{host}/robots.txt is unreachable ({rules.failure}); "
                                    "the host is held back", retryable=True) from rules.failure
        return rules.parser is None or rules.parser.can_fetch(url, self.user_agent)

    def _stale(self, rules: _Rules | None) -> bool:
        return rules is None or (rules.failure is not None and time.monotonic() >= rules.until)

    async def _rules_for(self, host: str) -> _Rules:
        rules = self._rules.get(host)
        if not self._stale(rules):
            return rules  # type: ignore[return-value]
        async with self._locks.setdefault(host, asyncio.Lock()):
            rules = self._rules.get(host)
            if self._stale(rules):
                rules = self._rules[host] = await self._fetch(host)
        return rules  # type: ignore[return-value]

    async def _fetch(self, host: str) -> _Rules:
        try:
            text = await self._load(host)
        except AddressRefused:
            raise                    # not a robots.txt answer: the host may not be contacted at all
        except FetchError as exc:
            if exc.retryable or (isinstance(exc, BadStatus) and exc.status == 429):
                return _Rules(failure=exc, until=time.monotonic() + UNREACHABLE_HOLD)
            return _Rules()
        if text is None:
            return _Rules()
        parser = _parse(text)
        if parser is not None:
            self._apply_delay(host, parser)
        return _Rules(parser=parser)

    def _apply_delay(self, host: str, parser: Protego) -> None:
        delay = parser.crawl_delay(self.user_agent) or 0.0
        rate = parser.request_rate(self.user_agent)
        if rate and rate.requests:
            delay = max(delay, rate.seconds / rate.requests)
        if delay > 0:
            self._on_delay(host, float(delay))
