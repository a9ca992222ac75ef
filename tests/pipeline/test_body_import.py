"""Large bodies imported as they arrive (``mirror.body_import``), through a real Fetcher and origin:
the CID, digest and text of an import of the whole file, nothing left in staging, and nothing of a
failed attempt stored."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import pytest

from mirror.errors import TooLarge
from mirror.extract import extract_text
from mirror.fetch.fetcher import Fetcher
from mirror.fetch.guard import harvest_policy
from mirror.home import Home
from mirror.ingest import SPOOL_BYTES, Collected, Ingestor
from mirror.services import Services, open_home
from mirror.sources.base import FileRef
from mirror.store.exporter import iter_file
from mirror.store.unixfs import import_bytes
from tests.servers.documents import document
from tests.servers.origin import Origin, payload


@asynccontextmanager
async def harvesting(home_dir: Path, **settings: object) -> AsyncIterator[tuple[Home, Services, Fetcher]]:
    home = Home.open(home_dir)
    home.settings.set("fetch.backoff", 0.01)
    for key, value in settings.items():
        home.settings.set(key, value)
    policy = harvest_policy(home.settings, allow_private=True)
    async with open_home(home) as services, Fetcher(home.settings, home.staging_dir, delay=0.0,
                                                    obey_robots=False, policy=policy) as fetcher:
        yield home, services, fetcher


async def collect(services: Services, home: Home, fetcher: Fetcher, url: str) -> Collected:
    return await Ingestor(home, services.index, services.store).collect([FileRef(url=url)], fetcher)


def leftovers(home: Home) -> list[Path]:
    """Files left in the harvest's staging folder and in the blockstore's."""
    folders = [home.staging_dir, home.blocks_dir / ".staging"]
    return [p for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file()]


@pytest.mark.parametrize("kind,name,size", [
    ("text", "notes.txt", 900_000),            # the head extraction reads (800,000 bytes) is cut
    ("html", "page.html", 300_000),            # parsed whole: from a staging copy
    ("pdf", "paper.pdf", 300_000),
    ("csv", "table.csv", 300_000),             # octet-stream, typed by its name
    ("json", "records.json", 300_000),
    ("bin", "data", SPOOL_BYTES + 1),          # no text; one raw leaf
    ("bin", "data", 3 * 2**20 + 17),           # four leaves and a root
])
async def test_a_large_body_gives_the_cid_digest_and_text_of_the_whole_file(
        home_dir: Path, origin: Origin, kind: str, name: str, size: int) -> None:
    body, media_type = document(kind, size)
    async with harvesting(home_dir) as (home, services, fetcher):
        got = await collect(services, home, fetcher, origin.url(f"/doc/{kind}/{name}?size={size}"))
        await asyncio.to_thread(got.blocks.commit)
    (content,) = got.contents
    expected = import_bytes(body, services.store.default_profile)
    assert (content.cid, content.sha256, content.size) == (str(expected.cid), expected.sha256, len(body))
    assert content.text == extract_text(body, media_type, name=name)
    assert (content.text is None) == (kind == "bin")
    assert b"".join(iter_file(services.store.blocks, expected.cid)) == body
    assert leftovers(home) == []


async def test_a_retried_body_leaves_no_block_of_the_attempt_that_failed(home_dir: Path,
                                                                          origin: Origin) -> None:
    """The first answer breaks off after 2.5 MiB of other bytes (two whole blocks staged); the
    retry brings the real body. Only the real body's blocks may be stored."""
    size = 3 * 2**20 + 17
    async with harvesting(home_dir) as (home, services, fetcher):
        url = origin.url(f"/cut/retried?size={size}&send={5 * 2**19}&fail=1")
        got = await collect(services, home, fetcher, url)
        await asyncio.to_thread(got.blocks.commit)
        assert fetcher.stats.retries == 1
    expected = import_bytes(payload(size), services.store.default_profile)
    assert got.contents[0].cid == str(expected.cid)
    assert services.store.blocks.stats()[0] == expected.blocks == 5
    assert leftovers(home) == []


async def test_a_body_over_the_cap_stores_nothing(home_dir: Path, origin: Origin) -> None:
    async with harvesting(home_dir, **{"fetch.max_bytes": 2 * 2**20}) as (home, services, fetcher):
        with pytest.raises(TooLarge):
            await collect(services, home, fetcher, origin.url("/huge?size=4000000"))
    assert services.store.blocks.stats()[0] == 0
    assert leftovers(home) == []
