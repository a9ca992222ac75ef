"""Our own OAI-PMH harvester (``OAIPMHSource`` with the real ``Fetcher``) harvesting the node's
provider: the same titles, licences and bytes come back, deletions arrive as deleted records, and
an incremental rerun asks only for what changed."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

import pytest
from tests.node.web_node import start_site, stop_site

from mirror.fetch.fetcher import Fetcher
from mirror.licenses import normalize
from mirror.node.oai.codec import make_identifier
from mirror.settings import Settings
from mirror.sources import SourceOptions
from mirror.sources.base import Checkpoint, Record
from mirror.sources.oai_pmh import OAIPMHSource


@pytest.fixture
async def site(tmp_path: Path):
    server = await start_site(tmp_path / "home", oai_page_size=4)
    try:
        yield server
    finally:
        await stop_site(server)


@pytest.fixture
async def fetcher(tmp_path: Path):
    settings = Settings(env={})
    settings.set("fetch.backoff", 0.01)
    settings.set("fetch.retries", 1)
    async with Fetcher(settings, tmp_path / "staging", per_host=8, delay=0.0, concurrency=16) as f:
        yield f


async def harvest(site, fetcher: Fetcher, state: dict[str, str] | None = None,
                  **options: str) -> tuple[OAIPMHSource, list[Record], dict[str, str]]:
    source = OAIPMHSource(site.url + "/oai", SourceOptions(**options))
    records, last = [], {}
    async for item in source.records(fetcher, dict(state or {})):
        if isinstance(item, Checkpoint):
            last = item.state
        else:
            records.append(item)
    return source, records, last


async def next_second(after: str) -> None:
    while datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") <= after[:19]:
        await asyncio.sleep(0.02)


LICENCES = ["CC-BY-4.0", "CC0-1.0", "CC-BY-SA-4.0", "ODbL-1.0", "CC-BY-3.0-DE", "CC-PDM-1.0"]


async def test_our_harvester_gets_back_titles_licences_and_bytes(site, fetcher) -> None:
    originals = {}
    for i, spdx in enumerate(LICENCES):
        data = f"body of document {i}\n".encode() * (i + 1)
        doc = await site.node.add(data, name=f"doc-{i}.txt", title=f"Document {i} «{spdx}»",
                                  source_id=f"doc-{i}", license=spdx, creators=[f"Author {i}"])
        originals[make_identifier("127.0.0.1", "books", f"doc-{i}")] = (doc, data)
    source, records, final = await harvest(site, fetcher)
    assert source.total == len(LICENCES) and source.repository.granularity == "YYYY-MM-DDThh:mm:ssZ"
    assert {r.source_id for r in records} == set(originals)
    for record in records:
        doc, data = originals[record.source_id]
        cid = doc.contents[0].cid
        assert record.metadata.title == doc.title
        assert list(record.metadata.creators) == doc.creators
        assert [normalize(s) for s in record.license_statements] == [doc.license]
        assert [f.url for f in record.files] == [f"{site.url}/ipfs/{cid}"]
        assert record.files[0].page is not None and record.files[0].page.body == data
        assert not record.deleted
    assert final.keys() == {"from"}


async def test_an_incremental_rerun_gets_changes_and_deletions(site, fetcher) -> None:
    for i in range(5):
        await site.node.add(f"item {i}".encode(), title=f"Item {i}", source_id=f"item-{i}")
    newest = (await site.node.index.get_document("books", "item-4")).updated_at
    await next_second(newest)
    _, first, state = await harvest(site, fetcher)
    assert len(first) == 5 and not any(r.deleted for r in first)
    await next_second(state["from"])
    assert await site.node.index.retract("books", "item-2")
    await site.node.add(b"item new", title="Item new", source_id="item-new")
    _, second, _ = await harvest(site, fetcher, state)
    assert sorted((r.metadata.title if not r.deleted else "", r.deleted) for r in second) == [
        ("", True), ("Item new", False)]
    [gone] = [r for r in second if r.deleted]
    assert gone.source_id == make_identifier("127.0.0.1", "books", "item-2")


async def test_a_set_harvest_reads_one_collection(site, fetcher) -> None:
    await site.node.add(b"a map", title="A map", collection="maps & charts", source_id="m")
    await site.node.add(b"a book", title="A book", collection="books", source_id="b")
    _, records, _ = await harvest(site, fetcher, set_spec="maps~20~26~20charts")
    assert [r.metadata.title for r in records] == ["A map"]
