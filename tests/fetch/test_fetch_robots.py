"""robots.txt: Disallow, agent groups, failures (RFC 9309 spirit), once per host, per redirect hop."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import quote

import pytest

from mirror.errors import RobotsUnavailable
from mirror.fetch import Fetcher, Page, Skipped
from mirror.settings import Settings
from tests.servers.origin import Origin


@pytest.fixture
async def fetcher(settings: Settings, staging: Path):
    async with Fetcher(settings, staging, per_host=4, delay=0.0) as f:
        yield f


async def test_disallowed_url_is_skipped_without_a_request(fetcher: Fetcher, origin: Origin,
                                                           staging: Path) -> None:
    origin.robots = "User-agent: *\nDisallow: /private\n"
    url = origin.url("/private/report.pdf")
    assert await fetcher.get_page(url) == Skipped(url, "robots")
    assert await fetcher.fetch_file(url) == Skipped(url, "robots")
    assert isinstance(await fetcher.get_page(origin.url("/public/page")), Page)
    assert [h.path for h in origin.recorder.hits] == ["/robots.txt", "/public/page"]
    assert not await fetcher.allowed(url) and await fetcher.allowed(origin.url("/public/x"))
    assert fetcher.stats.robots == 2 and not staging.exists() or not any(staging.iterdir())


async def test_our_agent_group_applies(fetcher: Fetcher, origin: Origin) -> None:
    origin.robots = "User-agent: *\nDisallow: /\n\nUser-agent: openmirror\nDisallow: /om-only\n"
    assert isinstance(await fetcher.get_page(origin.url("/anything")), Page)
    assert isinstance(await fetcher.get_page(origin.url("/om-only/x")), Skipped)


async def test_robots_is_fetched_once_per_host(fetcher: Fetcher, origin: Origin) -> None:
    origin.robots = "User-agent: *\nDisallow: /private\n"
    await asyncio.gather(*(fetcher.get_page(origin.url(f"/page/{i}", host=host))
                           for i in range(5) for host in ("127.0.0.1", "localhost")))
    assert len(origin.recorder.hits_for("127.0.0.1", "/robots.txt")) == 1
    assert len(origin.recorder.hits_for("localhost", "/robots.txt")) == 1


async def test_rules_are_per_host(fetcher: Fetcher, origin: Origin) -> None:
    origin.robots_by_host = {"localhost": "User-agent: *\nDisallow: /\n"}
    assert isinstance(await fetcher.get_page(origin.url("/x")), Page)
    assert isinstance(await fetcher.get_page(origin.url("/x", host="localhost")), Skipped)


@pytest.mark.parametrize("status", [404, 410, 401, 403])
async def test_robots_4xx_allows_everything(fetcher: Fetcher, origin: Origin, status: int) -> None:
    origin.robots_status = status
    assert isinstance(await fetcher.get_page(origin.url("/private/x")), Page)
    assert origin.recorder.count("/robots.txt") == 1


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_robots_unreachable_holds_the_host_back(fetcher: Fetcher, origin: Origin, status: int) -> None:
    origin.robots_status = status
    with pytest.raises(RobotsUnavailable) as info:
        await fetcher.get_page(origin.url("/page"))
    assert info.value.retryable
    assert origin.recorder.count("/robots.txt") == 1 + fetcher.retries  # robots.txt itself was retried
    assert not await fetcher.allowed(origin.url("/page"))
    with pytest.raises(RobotsUnavailable):
        await fetcher.fetch_file(origin.url("/other"))
    assert origin.recorder.count("/robots.txt") == 1 + fetcher.retries  # held: not asked again yet
    assert origin.recorder.count("/page") == origin.recorder.count("/other") == 0


async def test_unreachable_robots_for_a_dead_host(settings: Settings, staging: Path) -> None:
    settings.set("fetch.retries", 0)
    async with Fetcher(settings, staging, delay=0) as fetcher:
        with pytest.raises(RobotsUnavailable) as info:
            await fetcher.get_page("http://127.0.0.1:9/page")  # discard port: nothing listens
    assert info.value.retryable and isinstance(info.value.__cause__, ConnectionError)


async def test_robots_can_be_ignored(settings: Settings, staging: Path, origin: Origin) -> None:
    origin.robots = "User-agent: *\nDisallow: /\nCrawl-delay: 30\n"
    async with Fetcher(settings, staging, obey_robots=False, delay=0) as fetcher:
        assert isinstance(await fetcher.get_page(origin.url("/private")), Page)
        assert await fetcher.allowed(origin.url("/private"))
    assert origin.recorder.count("/robots.txt") == 0


async def test_robots_is_checked_on_every_redirect_hop(fetcher: Fetcher, origin: Origin) -> None:
    origin.robots_by_host = {"localhost": "User-agent: *\nDisallow: /private\n"}
    target = origin.url("/private/doc", host="localhost")
    url = origin.url("/to?url=" + quote(target, safe=""))
    assert await fetcher.get_page(url) == Skipped(url, "robots")
    assert origin.recorder.hits_for("localhost", "/private") == []
    assert len(origin.recorder.hits_for("localhost", "/robots.txt")) == 1


async def test_robots_txt_itself_stays_readable(fetcher: Fetcher, origin: Origin) -> None:
    origin.robots = "User-agent: *\nDisallow: /\nSitemap: /sitemap.xml\n"
    page = await fetcher.get_page(origin.url("/robots.txt"))
    assert isinstance(page, Page) and b"Sitemap" in page.body


async def test_huge_robots_is_read_up_to_its_limit(fetcher: Fetcher, origin: Origin) -> None:
    origin.robots = "User-agent: *\nDisallow: /private\n" + "# padding\n" * 100_000
    assert isinstance(await fetcher.get_page(origin.url("/private/x")), Skipped)
    assert isinstance(await fetcher.get_page(origin.url("/open")), Page)
