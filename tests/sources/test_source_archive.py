"""The Internet Archive source against the local fake of its APIs (tests.servers.archive)."""

from __future__ import annotations

import pytest

from mirror.errors import NotACollection
from mirror.sources import SourceOptions, open_source
from mirror.sources.archive_org import ArchiveOrgSource, parse_location
from tests.servers.archive import COLLECTION
from tests.sources.harvest import harvest


def source(server, name: str = COLLECTION) -> ArchiveOrgSource:
    return ArchiveOrgSource(f"{server.url}/details/{name}", SourceOptions())


async def test_collection_is_listed_with_the_scrape_cursor(archive_server, fetcher):
    src = source(archive_server)
    run = await harvest(src, fetcher)
    assert len(run.records) == 230          # the sub-collection is not a record
    assert src.total == 231
    assert [set(c) for c in run.checkpoints] == [{"cursor"}, {"cursor"}, set()]
    scrapes = [r.query for r in archive_server.requests if r.path.endswith("/scrape")]
    assert [("cursor" in q, q["count"], q["q"]) for q in scrapes] == \
        [(False, "100", "collection:fakecoll"), (True, "100", "collection:fakecoll"),
         (True, "100", "collection:fakecoll")]


async def test_item_metadata_and_original_files(archive_server, fetcher):
    src = source(archive_server)
    rec = await src.item(fetcher, "item-0003")
    doc = rec.metadata
    assert (doc.title, doc.creators, doc.date, doc.language, doc.type) == (
        "Item 3", ("Author 3", "Second Author"), "1903", "eng", "texts")
    assert doc.description == "About item 3." and list(doc.subjects) == ["alpha", "beta"]
    assert doc.landing_url == f"{archive_server.url}/details/item-0003"
    assert list(rec.license_statements) == ["http://creativecommons.org/publicdomain/mark/1.0/"]
    assert rec.datestamp == "2022-04-15T05:20:03Z"     # item_last_updated
    assert [(f.name, f.url, f.media_type) for f in rec.files] == [
        ("item-0003.pdf", f"{archive_server.url}/download/item-0003/item-0003.pdf", "application/pdf"),
        ("tables/data.csv", f"{archive_server.url}/download/item-0003/tables/data.csv", "text/csv")]
    assert rec.files[0].size == int(archive_server.items["item-0003"]["files"][0]["size"])


async def test_licence_statements_as_found(archive_server, fetcher):
    src = source(archive_server)
    assert list((await src.item(fetcher, "item-0001")).license_statements) == \
        ["https://creativecommons.org/licenses/by-nc/4.0/"]
    assert list((await src.item(fetcher, "item-0002")).license_statements) == ["All rights reserved"]


async def test_missing_dark_and_collection_items(archive_server, fetcher):
    src = source(archive_server)
    assert (await src.item(fetcher, "no-such-item")).error == "no item 'no-such-item'"
    assert (await src.item(fetcher, "darkitem")).skipped == "gone"
    assert await src.item(fetcher, "subcoll") is None


async def test_resume_from_the_cursor(archive_server, fetcher):
    first = await harvest(source(archive_server), fetcher, stop_after_checkpoints=1)
    rest = await harvest(source(archive_server), fetcher, first.checkpoints[-1])
    ids = [r.source_id for r in first.records + rest.records]
    assert len(first.records) == 100 and ids == sorted(set(ids)) and len(ids) == 230


async def test_a_single_item_name_is_harvested_as_that_item(archive_server, fetcher):
    run = await harvest(source(archive_server, "item-0007"), fetcher)
    assert [r.source_id for r in run.records] == ["item-0007"]


async def test_downloads_follow_the_data_node_redirect(archive_server, fetcher):
    rec = await source(archive_server).item(fetcher, "item-0000")
    got = await fetcher.fetch_file(rec.files[0].url)
    assert got.final_url.startswith(archive_server.url + "/serve/") and got.size == rec.files[0].size


async def test_locations_and_detection(archive_server, fetcher):
    assert parse_location("https://archive.org/details/opensource") == ("https://archive.org", "opensource")
    assert parse_location("prelinger") == ("https://archive.org", "prelinger")
    assert await ArchiveOrgSource.detect("https://archive.org/details/opensource", None)
    assert not await ArchiveOrgSource.detect(f"{archive_server.url}/details/{COLLECTION}", None)
    with pytest.raises(NotACollection, match="BASE/details/COLLECTION"):
        ArchiveOrgSource("https://archive.org/search?query=x", SourceOptions())
    opened = await open_source(f"{archive_server.url}/details/{COLLECTION}", fetcher, SourceOptions(),
                               kind="archive-org")
    assert opened.default_collection() == "127.0.0.1-fakecoll"
    real = await open_source("https://archive.org/details/opensource", fetcher, SourceOptions())
    assert isinstance(real, ArchiveOrgSource) and real.default_collection() == "archive.org-opensource"


async def test_an_unknown_name_is_not_a_collection(archive_server, fetcher):
    with pytest.raises(NotACollection, match="no such collection or item"):
        await harvest(source(archive_server, "nothing-by-this-name"), fetcher)
