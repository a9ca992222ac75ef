"""Retries: Retry-After (measured on the server), backoff, exhausted retries, timeouts, broken bodies."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

from mirror.errors import BadStatus, ConnectionFailed, FetchTimeout, TruncatedBody
from mirror.fetch import Fetcher, Page
from mirror.fetch.retry import backoff, parse_retry_after
from mirror.settings import Settings
from tests.fetch.conftest import staged_files
from tests.servers.origin import Origin

# waits are counted from the failed response, which the server sent after its start: no slack
# needed but float noise
SLACK = 0.005


@pytest.fixture
async def fetcher(settings: Settings, staging: Path):
    async with Fetcher(settings, staging, per_host=4, delay=0.0) as f:
        yield f


def hit_starts(origin: Origin, path: str) -> list[float]:
    return [h.start for h in origin.recorder.hits_for(path=path)]


@pytest.mark.parametrize("status", [503, 429])
async def test_retry_after_is_honoured(fetcher: Fetcher, origin: Origin, status: int) -> None:
    page = await fetcher.get_page(origin.url(f"/flaky/a?fail=1&status={status}&retry_after=1"))
    assert isinstance(page, Page) and page.body == b"ok a"
    first, second = hit_starts(origin, "/flaky/a")
    assert second - first >= 1.0 - SLACK
    assert fetcher.stats.retries == 1 and fetcher.stats.errors == 0


async def test_retry_after_is_capped(settings: Settings, staging: Path, origin: Origin) -> None:
    settings.set("fetch.max_retry_after", 0.2)
    async with Fetcher(settings, staging, delay=0) as fetcher:
        began = time.monotonic()
        assert isinstance(await fetcher.get_page(origin.url("/flaky/b?fail=1&retry_after=3600")), Page)
    first, second = hit_starts(origin, "/flaky/b")
    assert 0.2 - SLACK <= second - first and time.monotonic() - began < 2


async def test_retry_after_holds_back_the_whole_host(fetcher: Fetcher, origin: Origin) -> None:
    slow = asyncio.create_task(fetcher.get_page(origin.url("/flaky/c?fail=1&retry_after=1")))
    while not origin.recorder.hits_for(path="/flaky/c"):
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # the 503 has arrived and the host is deferred
    same, other = await asyncio.gather(fetcher.get_page(origin.url("/same-host")),
                                       fetcher.get_page(origin.url("/other-host", host="localhost")))
    await slow
    first_503 = hit_starts(origin, "/flaky/c")[0]
    assert hit_starts(origin, "/same-host")[0] - first_503 >= 1.0 - SLACK
    assert hit_starts(origin, "/other-host")[0] - first_503 < 0.9


async def test_backoff_then_success(settings: Settings, staging: Path, origin: Origin) -> None:
    settings.set("fetch.backoff", 0.1)
    async with Fetcher(settings, staging, delay=0) as fetcher:
        page = await fetcher.get_page(origin.url("/flaky/d?fail=2&status=500"))
    assert isinstance(page, Page)
    starts = hit_starts(origin, "/flaky/d")
    assert len(starts) == 3 and fetcher.stats.retries == 2
    # equal jitter: retry n waits between half and all of backoff * 2**n, counted from the failure
    assert starts[1] - starts[0] >= 0.05 and starts[2] - starts[1] >= 0.1


async def test_retries_run_out(fetcher: Fetcher, origin: Origin) -> None:
    with pytest.raises(BadStatus) as info:
        await fetcher.get_page(origin.url("/flaky/e?fail=99&status=502"))
    assert info.value.retryable and info.value.status == 502
    assert origin.recorder.count("/flaky/e") == 1 + fetcher.retries
    assert fetcher.stats.errors == 1 and fetcher.stats.host(f"http://127.0.0.1:{origin.port}").retries == 2


async def test_read_timeout(settings: Settings, staging: Path, origin: Origin) -> None:
    settings.set("fetch.read_timeout", 0.2)
    settings.set("fetch.retries", 0)
    async with Fetcher(settings, staging, delay=0) as fetcher:
        with pytest.raises(FetchTimeout) as info:
            await fetcher.get_page(origin.url("/slow?delay=0.6"))
    assert info.value.retryable and isinstance(info.value, TimeoutError)


async def test_total_timeout(settings: Settings, staging: Path, origin: Origin) -> None:
    settings.set("fetch.total_timeout", 0.4)
    settings.set("fetch.retries", 0)
    async with Fetcher(settings, staging, delay=0) as fetcher:
        began = time.monotonic()
        with pytest.raises(FetchTimeout):
            await fetcher.fetch_file(origin.url("/trickle?chunks=30&interval=0.1"))
    assert time.monotonic() - began < 1.5
    assert staged_files(staging) == []


async def test_truncated_body_fails_and_leaves_nothing(fetcher: Fetcher, origin: Origin, staging: Path) -> None:
    with pytest.raises(TruncatedBody) as info:
        await fetcher.fetch_file(origin.url("/truncated?size=5000000&send=2000000"))
    assert info.value.retryable and info.value.__cause__ is not None
    assert origin.recorder.count("/truncated") == 1 + fetcher.retries
    assert staged_files(staging) == []


async def test_dropped_connection(fetcher: Fetcher, origin: Origin, staging: Path) -> None:
    with pytest.raises(ConnectionFailed) as info:
        await fetcher.fetch_file(origin.url("/drop"))
    assert info.value.retryable and isinstance(info.value, ConnectionError)
    # aiohttp itself retries an idempotent request once when a reused keep-alive connection drops
    # (RFC 9112 section 9.3.1.1), so each of our attempts may reach the server twice
    assert 1 + fetcher.retries <= origin.recorder.count("/drop") <= 2 * (1 + fetcher.retries)
    assert staged_files(staging) == []


async def test_cancelled_fetch_leaves_no_staging_file(fetcher: Fetcher, origin: Origin, staging: Path) -> None:
    task = asyncio.create_task(fetcher.fetch_file(origin.url("/trickle?chunks=50&interval=0.05")))
    while not origin.recorder.hits_for(path="/trickle"):
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert staged_files(staging) == []


def test_parse_retry_after() -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("120", cap=300) == 120
    assert parse_retry_after("3600", cap=300) == 300
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), 300, now) == 90
    assert parse_retry_after(format_datetime(now - timedelta(seconds=90), usegmt=True), 300, now) == 0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 300, now) == 0
    for junk in (None, "", "soon", "-5", "1e9", "Mon, 99 Foo 2020"):
        assert parse_retry_after(junk, 300, now) is None


def test_backoff_grows_with_jitter_and_cap() -> None:
    for attempt in range(6):
        waits = [backoff(attempt, 1.0, cap=10.0) for _ in range(200)]
        ceiling = min(10.0, 2.0 ** attempt)
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert len(set(waits)) > 1
    assert backoff(10_000, 1.0) <= 120
