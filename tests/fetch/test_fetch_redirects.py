"""Redirects followed by hand: chains, limits, loops, schemes, politeness per hop."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from mirror.errors import FetchError, RedirectLoop, TooManyRedirects
from mirror.fetch import Fetcher, FetchedFile, Page, Skipped
from mirror.settings import Settings
from tests.servers.origin import Origin, payload_sha256


@pytest.fixture
async def fetcher(settings: Settings, staging: Path):
    settings.set("fetch.max_redirects", 4)
    async with Fetcher(settings, staging, per_host=4, delay=0.0) as f:
        yield f


def to(origin: Origin, target: str, status: int = 302) -> str:
    return origin.url(f"/to?status={status}&url=" + quote(target, safe=""))


async def test_chain_is_followed(fetcher: Fetcher, origin: Origin) -> None:
    page = await fetcher.get_page(origin.url("/redirect/3"))
    assert isinstance(page, Page) and page.body == b"arrived"
    assert page.url == origin.url("/redirect/3") and page.final_url == origin.url("/redirect/0")
    assert [h.path for h in origin.recorder.hits] == ["/robots.txt", "/redirect/3", "/redirect/2",
                                                      "/redirect/1", "/redirect/0"]
    assert fetcher.stats.requests == 5


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_every_redirect_status(fetcher: Fetcher, origin: Origin, staging: Path, status: int) -> None:
    result = await fetcher.fetch_file(to(origin, "/file/70000", status))
    assert isinstance(result, FetchedFile) and result.sha256 == payload_sha256(70000)
    assert result.final_url == origin.url("/file/70000")


async def test_limit(fetcher: Fetcher, origin: Origin) -> None:
    assert isinstance(await fetcher.get_page(origin.url("/redirect/4")), Page)
    with pytest.raises(TooManyRedirects) as info:
        await fetcher.get_page(origin.url("/redirect/5"))
    assert not info.value.retryable
    assert origin.recorder.count("/redirect/5") == 1  # not retried


async def test_loop(fetcher: Fetcher, origin: Origin) -> None:
    with pytest.raises(RedirectLoop) as info:
        await fetcher.get_page(origin.url("/loop/a"))
    assert not info.value.retryable
    assert [h.path for h in origin.recorder.hits[1:]] == ["/loop/a", "/loop/b"]


async def test_cross_host_redirect_is_polite_per_hop(fetcher: Fetcher, origin: Origin) -> None:
    page = await fetcher.get_page(to(origin, origin.url("/landed", host="localhost")))
    assert isinstance(page, Page) and page.final_url == origin.url("/landed", host="localhost")
    assert [h.path for h in origin.recorder.hits_for("localhost")] == ["/robots.txt", "/landed"]
    assert set(fetcher.stats.hosts) == {f"http://127.0.0.1:{origin.port}", f"http://localhost:{origin.port}"}


async def test_redirect_to_gone_is_gone(fetcher: Fetcher, origin: Origin) -> None:
    url = to(origin, "/status/410")
    assert await fetcher.get_page(url) == Skipped(url, "gone", 410)


@pytest.mark.parametrize("target", ["ftp://example.org/file", "file:///etc/passwd", "javascript:alert(1)"])
async def test_only_http_targets(fetcher: Fetcher, origin: Origin, target: str) -> None:
    with pytest.raises(FetchError) as info:
        await fetcher.get_page(to(origin, target))
    assert not info.value.retryable and info.value.status == 302


async def test_redirect_without_location(fetcher: Fetcher, origin: Origin) -> None:
    with pytest.raises(FetchError) as info:
        await fetcher.get_page(origin.url("/status/301"))
    assert not info.value.retryable
