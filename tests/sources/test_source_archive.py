"""The Internet Archive source against the local fake of its APIs (tests.servers.archive)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mirror.errors import NotACollection
from mirror.sources import SourceOptions, open_source
from mirror.sources.archive_org import ArchiveOrgSource, ArchiveTarget, parse_location
from mirror.sources.dates import parse_when
from tests.servers.archive import COLLECTION, make_item
from tests.sources.harvest import harvest
from indexer.clock import second_time


def source(server, name: str = COLLECTION) -> ArchiveOrgSource:
    return ArchiveOrgSource(f"{server.url}/details/{name}", SourceOptions())


async def test_collection_is_listed_with_the_scrape_cursor(archive_server, fetcher):
    src = source(archive_server)
    run = await harvest(src, fetcher)
    assert len(run.records) == 230          # the sub-collection is not a record
    assert src.total == 231
    assert [set(c) for c in run.checkpoints] == [{"cursor", "since", "started"}] * 2 + [{"since"}]
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


async def test_an_item_url_mirrors_that_item(archive_server, fetcher):
    run = await harvest(source(archive_server, "item-0007"), fetcher)
    assert [r.source_id for r in run.records] == ["item-0007"]
    assert [r.path for r in archive_server.requests if r.path != "/robots.txt"] == ["/metadata/item-0007"]
    download = ArchiveOrgSource(f"{archive_server.url}/download/item-0008/item-0008.pdf", SourceOptions())
    assert [r.source_id for r in (await harvest(download, fetcher)).records] == ["item-0008"]


async def test_a_collection_url_or_a_search_mirrors_the_collection_or_search(archive_server, fetcher):
    run = await harvest(source(archive_server), fetcher)
    assert len(run.records) == 230
    scrapes = {r.query["q"] for r in archive_server.requests if r.path.endswith("/scrape")}
    assert scrapes == {"collection:fakecoll"}
    search = ArchiveOrgSource(f"{archive_server.url}/search?query=collection%3Afakecoll+AND+identifier%3Aitem-0042",
                              SourceOptions())
    assert [r.source_id for r in (await harvest(search, fetcher)).records] == ["item-0042"]
    bare = ArchiveOrgSource("collection:fakecoll", SourceOptions())
    assert (bare.base, bare.target.query) == ("https://archive.org", "collection:fakecoll")


async def test_a_rerun_asks_only_for_items_added_or_made_public_since(archive_server, fetcher):
    first = await harvest(source(archive_server), fetcher)
    new = make_item(999)
    new["metadata"].update(addeddate=second_time().replace("T", " ")[:19], publicdate=second_time().replace("T", " ")[:19])
    archive_server.items["item-0999"] = new
    again = await harvest(source(archive_server), fetcher, first.final)
    assert [r.source_id for r in again.records] == ["item-0999"]
    day = (parse_when(first.final["since"]) - timedelta(days=1)).strftime("%Y-%m-%d")
    last = [r.query["q"] for r in archive_server.requests if r.path.endswith("/scrape")][-1]
    assert last == f"(collection:fakecoll) AND (addeddate:[{day} TO null] OR publicdate:[{day} TO null])"


async def test_dates_fall_back_to_publicdate_then_addeddate(archive_server, fetcher):
    item = archive_server.items["item-0005"]["metadata"]
    del item["date"]
    assert (await source(archive_server).item(fetcher, "item-0005")).metadata.date == "2015-03-04"
    del item["publicdate"]
    item["addeddate"] = "2016-07-08 09:10:11"
    assert (await source(archive_server).item(fetcher, "item-0005")).metadata.date == "2016-07-08"


async def test_downloads_follow_the_data_node_redirect(archive_server, fetcher):
    rec = await source(archive_server).item(fetcher, "item-0000")
    got = await fetcher.fetch_file(rec.files[0].url)
    assert got.final_url.startswith(archive_server.url + "/serve/") and got.size == rec.files[0].size


async def test_locations_and_detection(archive_server, fetcher):
    assert parse_location("https://archive.org/details/opensource") == ArchiveTarget("https://archive.org", "opensource")
    assert parse_location("prelinger") == ArchiveTarget("https://archive.org", "prelinger")
    assert parse_location("https://archive.org/download/x/y.pdf") == ArchiveTarget("https://archive.org", "x", item=True)
    assert parse_location("https://archive.org/advancedsearch.php?q=collection%3Aa&fl%5B%5D=identifier") == \
        ArchiveTarget("https://archive.org", query="collection:a")
    assert await ArchiveOrgSource.detect("https://archive.org/details/opensource", None)
    assert await ArchiveOrgSource.detect("https://archive.org/search?query=subject%3Amaps", None)
    assert await ArchiveOrgSource.detect("collection:prelinger", None)
    assert isinstance(await open_source("collection:prelinger", fetcher, SourceOptions()), ArchiveOrgSource)
    assert not await ArchiveOrgSource.detect(f"{archive_server.url}/details/{COLLECTION}", None)
    assert not await ArchiveOrgSource.detect("https://archive.org/about/", None)
    with pytest.raises(NotACollection, match="BASE/details/NAME"):
        ArchiveOrgSource("https://archive.org/search?query=", SourceOptions())
    opened = await open_source(f"{archive_server.url}/details/{COLLECTION}", fetcher, SourceOptions(),
                               kind="archive-org")
    port = archive_server.url.rsplit(":", 1)[1]
    assert opened.default_collection() == f"127.0.0.1-{port}-fakecoll"
    real = await open_source("https://archive.org/details/opensource", fetcher, SourceOptions())
    assert isinstance(real, ArchiveOrgSource) and real.default_collection() == "archive.org-opensource"
    query = ArchiveOrgSource("https://archive.org/search?query=subject%3Amaps", SourceOptions())
    assert query.default_collection() == "archive.org-search-subject-maps"


async def test_an_unknown_name_is_not_a_collection(archive_server, fetcher):
    with pytest.raises(NotACollection, match="no such collection or item"):
        await harvest(source(archive_server, "nothing-by-this-name"), fetcher)
