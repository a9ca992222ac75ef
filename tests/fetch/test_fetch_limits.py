"""Hostile bodies: gzip and deflate bombs and huge bodies stop at the decoded-size cap, in bounded memory."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

import pytest

from mirror.errors import TooLarge, TruncatedBody
from mirror.fetch import Fetcher, FetchedFile, Page
from mirror.settings import Settings
from tests.fetch.conftest import staged_files
from tests.servers.origin import Origin

MiB = 2**20


@pytest.fixture
async def fetcher(settings: Settings, staging: Path):
    async with Fetcher(settings, staging, delay=0.0, max_bytes=8 * MiB) as f:
        yield f


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_bomb_is_stopped_in_bounded_memory(fetcher: Fetcher, origin: Origin, staging: Path,
                                                 encoding: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(TooLarge) as info:
            await fetcher.fetch_file(origin.url(f"/bomb?size={2**30}&encoding={encoding}"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not info.value.retryable
    # the 1 GiB body never sits in memory; not even the 8 MiB cap does. What does: the batch in the
    # worker thread and its joined copy, the batch filling (sinks.BATCH each), the decoder's piece and
    # the in-process origin's own buffers: 4.6-5.5 MiB idle, up to 6.8 MiB under load
    assert peak < 8 * MiB
    assert 8 * MiB <= fetcher.stats.bytes < 9 * MiB  # stopped one decoded piece past the cap
    assert staged_files(staging) == [] and origin.recorder.count("/bomb") == 1


async def test_bomb_in_a_page_is_stopped(fetcher: Fetcher, origin: Origin) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(TooLarge):
            await fetcher.get_page(origin.url(f"/bomb?size={2**30}"), max_bytes=2 * MiB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB


async def test_small_compressed_body_under_the_cap_is_whole(fetcher: Fetcher, origin: Origin) -> None:
    size = 5 * MiB + 3
    result = await fetcher.fetch_file(origin.url(f"/bomb?size={size}"))
    assert isinstance(result, FetchedFile) and result.size == size
    assert result.sha256 == hashlib.sha256(bytes(size)).hexdigest()


@pytest.mark.parametrize("length", ["", "&length=1"])
async def test_huge_body_is_stopped(fetcher: Fetcher, origin: Origin, staging: Path, length: str) -> None:
    with pytest.raises(TooLarge):
        await fetcher.fetch_file(origin.url(f"/huge?size={2**31}{length}"))
    assert staged_files(staging) == []
    if length:  # a Content-Length over the cap: nothing is read at all
        assert fetcher.stats.bytes == 0
    else:
        assert 8 * MiB < fetcher.stats.bytes < 9 * MiB


async def test_page_cap(fetcher: Fetcher, origin: Origin) -> None:
    assert isinstance(await fetcher.get_page(origin.url("/file/1000"), max_bytes=1000), Page)
    with pytest.raises(TooLarge):
        await fetcher.get_page(origin.url("/file/1001"), max_bytes=1000)
    with pytest.raises(TooLarge):
        await fetcher.get_page(origin.url("/file/1001?chunked=1"), max_bytes=1000)
    with pytest.raises(TooLarge):  # the run's cap also bounds pages
        await fetcher.get_page(origin.url(f"/file/{9 * MiB}?chunked=1"), max_bytes=64 * MiB)


async def test_exactly_the_cap_is_accepted(settings: Settings, staging: Path, origin: Origin) -> None:
    async with Fetcher(settings, staging, delay=0, max_bytes=MiB) as fetcher:
        assert isinstance(await fetcher.fetch_file(origin.url(f"/file/{MiB}?chunked=1")), FetchedFile)
        with pytest.raises(TooLarge):
            await fetcher.fetch_file(origin.url(f"/file/{MiB + 1}?chunked=1"))
    assert len(staged_files(staging)) == 1


async def test_truncated_compressed_stream(fetcher: Fetcher, origin: Origin, staging: Path) -> None:
    with pytest.raises(TruncatedBody) as info:
        await fetcher.fetch_file(origin.url("/gzip?size=200000&cut=10"))
    assert info.value.retryable and origin.recorder.count("/gzip") == 1 + fetcher.retries
    assert staged_files(staging) == []


async def test_the_cap_holds_for_a_spooled_body(settings: Settings, staging: Path, origin: Origin) -> None:
    async with Fetcher(settings, staging, delay=0, max_bytes=1000) as fetcher:
        assert (await fetcher.fetch_file(origin.url("/file/1000?chunked=1"), spool=4096)).body  # type: ignore[union-attr]
        with pytest.raises(TooLarge):
            await fetcher.fetch_file(origin.url("/file/1001?chunked=1"), spool=4096)
        with pytest.raises(TruncatedBody):
            await fetcher.fetch_file(origin.url("/gzip?size=900&cut=10"), spool=1 << 20)
    assert staged_files(staging) == []
