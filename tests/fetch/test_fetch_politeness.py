"""Politeness measured on the server side: requests in flight per host, spacing, Crawl-delay."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mirror.errors import ConfigError
from mirror.fetch import Fetcher
from mirror.settings import Settings
from tests.servers.origin import Origin

# Server-side start times may come a little closer than the client spaced them (the first request
# also opens the connection, and a loaded machine delays one handler more than the next); allow
# this much on the whole span, which one delay cannot shrink by more than itself.
SLACK = 0.05


def gaps(starts: list[float]) -> list[float]:
    return [b - a for a, b in zip(starts, starts[1:])]


def assert_spaced(starts: list[float], delay: float) -> None:
    """Every start DELAY after the one before, as the server saw them: the span of N gaps is at
    least N x DELAY less one scheduling delay, and no two starts come together."""
    assert starts[-1] - starts[0] >= (len(starts) - 1) * delay - SLACK
    assert min(gaps(starts)) >= delay / 2


async def test_per_host_limit(settings: Settings, staging: Path, origin: Origin) -> None:
    async with Fetcher(settings, staging, per_host=2, delay=0.0) as fetcher:
        await asyncio.gather(*(fetcher.get_page(origin.url(f"/slow?delay=0.2&n={i}")) for i in range(6)))
    assert origin.recorder.count("/slow") == 6
    assert origin.recorder.max_in_flight["127.0.0.1"] == 2


async def test_default_per_host_limit_is_two(settings: Settings, staging: Path, origin: Origin) -> None:
    async with Fetcher(settings, staging, delay=0.0) as fetcher:
        await asyncio.gather(*(fetcher.get_page(origin.url(f"/slow?delay=0.15&n={i}")) for i in range(5)))
    assert origin.recorder.max_in_flight["127.0.0.1"] == 2
    assert fetcher.delay == 0.0 and Fetcher(settings, staging).delay == 0.5


async def test_spacing_between_starts(settings: Settings, staging: Path, origin: Origin) -> None:
    async with Fetcher(settings, staging, per_host=4, delay=0.15) as fetcher:
        await asyncio.gather(*(fetcher.get_page(origin.url(f"/page/{i}")) for i in range(5)))
    starts = origin.recorder.starts("127.0.0.1")  # robots.txt and five pages
    assert len(starts) == 6
    assert_spaced(starts, 0.15)


async def test_crawl_delay_is_obeyed(settings: Settings, staging: Path, origin: Origin) -> None:
    origin.robots = "User-agent: *\nCrawl-delay: 0.3\nDisallow: /private\n"
    async with Fetcher(settings, staging, per_host=4, delay=0.05) as fetcher:
        await asyncio.gather(*(fetcher.get_page(origin.url(f"/page/{i}")) for i in range(4)))
    starts = origin.recorder.starts("127.0.0.1", "/page")
    assert len(starts) == 4
    assert_spaced(starts, 0.3)


async def test_run_delay_wins_over_a_shorter_crawl_delay(settings: Settings, staging: Path,
                                                         origin: Origin) -> None:
    origin.robots = "User-agent: *\nCrawl-delay: 0.01\n"
    async with Fetcher(settings, staging, per_host=4, delay=0.2) as fetcher:
        await asyncio.gather(*(fetcher.get_page(origin.url(f"/page/{i}")) for i in range(3)))
    assert_spaced(origin.recorder.starts("127.0.0.1", "/page"), 0.2)


async def test_hosts_proceed_independently(settings: Settings, staging: Path, origin: Origin) -> None:
    async with Fetcher(settings, staging, per_host=1, delay=0.25) as fetcher:
        await asyncio.gather(*(fetcher.get_page(origin.url(f"/page/{i}", host=host))
                               for i in range(3) for host in ("127.0.0.1", "localhost")))
    a, b = origin.recorder.starts("127.0.0.1"), origin.recorder.starts("localhost")
    for starts in (a, b):  # robots.txt + 3 pages each, spaced, one at a time
        assert len(starts) == 4
        assert_spaced(starts, 0.25)
    assert origin.recorder.max_in_flight == {"127.0.0.1": 1, "localhost": 1}
    # the hosts' sequences overlap in time instead of taking turns
    assert b[0] < a[-1] and a[0] < b[-1]


async def test_global_concurrency(settings: Settings, staging: Path, origin: Origin) -> None:
    async with Fetcher(settings, staging, per_host=5, delay=0.0, concurrency=3) as fetcher:
        await asyncio.gather(*(fetcher.get_page(origin.url(f"/slow?delay=0.2&n={i}", host=host))
                               for i in range(4) for host in ("127.0.0.1", "localhost")))
    assert origin.recorder.max_in_flight_total == 3
    assert origin.recorder.count("/slow") == 8


@pytest.mark.parametrize("kw", [{"per_host": 0}, {"concurrency": 0}, {"delay": -1.0}])
def test_bad_limits_are_refused(settings: Settings, staging: Path, kw: dict) -> None:
    with pytest.raises(ConfigError):
        Fetcher(settings, staging, **kw)


async def test_settings_give_the_defaults(staging: Path, origin: Origin) -> None:
    settings = Settings(env={"OPENMIRROR_FETCH_PER_HOST": "3", "OPENMIRROR_FETCH_DELAY": "0"})
    async with Fetcher(settings, staging) as fetcher:
        await asyncio.gather(*(fetcher.get_page(origin.url(f"/slow?delay=0.2&n={i}")) for i in range(7)))
    assert origin.recorder.max_in_flight["127.0.0.1"] == 3
