"""The OAI-PMH provider harvested by a real OAI-PMH client (sickle, run in a worker thread while
the node serves on 127.0.0.1): Identify, formats, sets, paged lists, from/until, deletions."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import pytest
from sickle import Sickle, oaiexceptions
from sickle.iterator import OAIResponseIterator
from tests.node.web_node import WebServer, start_site, stop_site

from indexer.records import DocumentIn
from mirror.node.oai.codec import make_identifier

OAI_DC = {"metadataPrefix": "oai_dc"}
SECOND = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


async def in_thread(fn: Callable[[], Any]) -> Any:
    return await asyncio.to_thread(fn)


def client(site: WebServer, **options: Any) -> Sickle:
    return Sickle(site.url + "/oai", max_retries=0, timeout=10, **options)


async def add_docs(site: WebServer, count: int, collection: str, tag: str) -> list[DocumentIn]:
    return [await site.node.add(f"{tag} {i}".encode(), name=f"{tag}-{i}.txt",
                                title=f"{tag.title()} {i}", collection=collection,
                                source_id=f"{tag}-{i}", creators=["Ada", "Bea"],
                                subjects=["rivers"], description=f"About {tag} {i}.",
                                date="2020-01-02", type="text", language="en",
                                source_url=f"https://origin.example/{tag}/{i}.txt",
                                license="CC-BY-4.0" if i % 2 else "CC0-1.0")
            for i in range(count)]


@pytest.fixture
async def site(tmp_path: Path):
    server = await start_site(tmp_path / "home", oai_page_size=3, name="Test node",
                              admin_email="admin@example.org")
    try:
        yield server
    finally:
        await stop_site(server)


@pytest.fixture
async def filled(site):
    await add_docs(site, 5, "books", "book")
    await add_docs(site, 3, "maps & charts", "map")
    return site


def identifier(site: WebServer, collection: str, source_id: str) -> str:
    return make_identifier(urlsplit(site.url).hostname or "", collection, source_id)


async def test_identify(filled) -> None:
    ident = await in_thread(client(filled).Identify)
    assert ident.repositoryName == "Test node"
    assert ident.baseURL == filled.url + "/oai"
    assert ident.protocolVersion == "2.0"
    assert ident.adminEmail == "admin@example.org"
    assert ident.deletedRecord == "persistent"
    assert ident.granularity == "YYYY-MM-DDThh:mm:ssZ"
    assert SECOND.fullmatch(ident.earliestDatestamp)
    assert ident.earliestDatestamp <= datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_metadata_formats(filled) -> None:
    formats = await in_thread(lambda: list(client(filled).ListMetadataFormats()))
    assert [f.metadataPrefix for f in formats] == ["oai_dc"]
    assert formats[0].metadataNamespace == "http://www.openarchives.org/OAI/2.0/oai_dc/"
    known = identifier(filled, "books", "book-1")
    formats = await in_thread(lambda: list(client(filled).ListMetadataFormats(identifier=known)))
    assert [f.metadataPrefix for f in formats] == ["oai_dc"]
    with pytest.raises(oaiexceptions.IdDoesNotExist):
        await in_thread(lambda: list(client(filled).ListMetadataFormats(
            identifier=identifier(filled, "books", "nope"))))


async def test_sets_are_collections(filled) -> None:
    sets = await in_thread(lambda: list(client(filled).ListSets()))
    assert [(s.setSpec, s.setName) for s in sets] == [("books", "books"),
                                                     ("maps~20~26~20charts", "maps & charts")]


async def test_a_node_without_collections_has_no_set_hierarchy(site) -> None:
    with pytest.raises(oaiexceptions.NoSetHierarchy):
        await in_thread(lambda: list(client(site).ListSets()))
    with pytest.raises(oaiexceptions.NoSetHierarchy):
        await in_thread(lambda: list(client(site).ListRecords(set="books", **OAI_DC)))
    with pytest.raises(oaiexceptions.NoRecordsMatch):
        await in_thread(lambda: list(client(site).ListRecords(**OAI_DC)))


async def test_list_records_pages_over_resumption_tokens(filled) -> None:
    responses = await in_thread(lambda: list(
        client(filled, iterator=OAIResponseIterator).ListRecords(**OAI_DC)))
    ns = "{http://www.openarchives.org/OAI/2.0/}"
    tokens = [r.xml.find(f".//{ns}resumptionToken") for r in responses]
    assert [len(r.xml.findall(f".//{ns}record")) for r in responses] == [3, 3, 2]
    assert [(t.get("cursor"), t.get("completeListSize")) for t in tokens] == [
        ("0", "8"), ("3", "8"), ("6", "8")]
    assert tokens[0].text and tokens[1].text and tokens[0].text != tokens[1].text
    assert not tokens[2].text                       # the last page ends the list
    records = await in_thread(lambda: list(client(filled).ListRecords(**OAI_DC)))
    titles = sorted(r.metadata["title"][0] for r in records)
    assert titles == sorted([f"Book {i}" for i in range(5)] + [f"Map {i}" for i in range(3)])
    assert len({r.header.identifier for r in records}) == 8
    stamps = [r.header.datestamp for r in records]
    assert all(SECOND.fullmatch(s) for s in stamps) and stamps == sorted(stamps)


async def test_oai_dc_carries_licence_url_gateway_url_and_cid(filled) -> None:
    doc = await filled.node.index.get_document("books", "book-1")
    cid = doc.contents[0].cid
    record = await in_thread(lambda: client(filled).GetRecord(
        identifier=identifier(filled, "books", "book-1"), **OAI_DC))
    meta = record.metadata
    assert record.header.setSpecs == ["books"] and not record.deleted
    assert record.header.datestamp == doc.updated_at[:19] + "Z"
    assert meta["title"] == ["Book 1"] and meta["creator"] == ["Ada", "Bea"]
    assert meta["subject"] == ["rivers"] and meta["description"] == ["About book 1."]
    assert meta["date"] == ["2020-01-02"] and meta["type"] == ["text"]
    assert meta["language"] == ["en"] and meta["format"] == ["text/plain"]
    assert meta["rights"] == ["https://creativecommons.org/licenses/by/4.0/"]
    assert meta["identifier"] == [f"{filled.url}/ipfs/{cid}", f"ipfs://{cid}", cid]
    assert meta["source"] == ["https://origin.example/book/1.txt"]


async def test_list_identifiers_of_one_set(filled) -> None:
    headers = await in_thread(lambda: list(client(filled).ListIdentifiers(
        set="maps~20~26~20charts", **OAI_DC)))
    assert sorted(h.identifier for h in headers) == sorted(
        identifier(filled, "maps & charts", f"map-{i}") for i in range(3))
    assert {tuple(h.setSpecs) for h in headers} == {("maps~20~26~20charts",)}
    with pytest.raises(oaiexceptions.NoRecordsMatch):
        await in_thread(lambda: list(client(filled).ListIdentifiers(set="atlases", **OAI_DC)))


async def wait_for_next_second(stamp: str) -> None:
    """Poll the clock until it shows a second later than STAMP (``...Z`` datestamp)."""
    while datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") <= stamp:
        await asyncio.sleep(0.02)


async def test_from_and_until_select_by_update_time(site) -> None:
    async def stamp(source_id: str) -> str:
        return (await site.node.index.get_document("books", source_id)).updated_at[:19] + "Z"

    await add_docs(site, 2, "books", "early")
    first, early = await stamp("early-0"), await stamp("early-1")
    await wait_for_next_second(early)
    await add_docs(site, 2, "books", "late")
    late, last = await stamp("late-0"), await stamp("late-1")
    assert late > early

    def titles(**args: str) -> list[str]:
        return sorted(r.metadata["title"][0] for r in client(site).ListRecords(**OAI_DC, **args))

    assert await in_thread(lambda: titles(**{"from": late})) == ["Late 0", "Late 1"]
    assert await in_thread(lambda: titles(until=early)) == ["Early 0", "Early 1"]
    assert await in_thread(lambda: titles(**{"from": first, "until": last})) == [
        "Early 0", "Early 1", "Late 0", "Late 1"]
    today = early[:10]
    assert len(await in_thread(lambda: titles(**{"from": today, "until": today}))) == 4
    with pytest.raises(oaiexceptions.NoRecordsMatch):
        await in_thread(lambda: titles(until="2000-01-01"))


async def test_retractions_are_deleted_records(filled) -> None:
    await wait_for_next_second(
        (await filled.node.index.get_document("maps & charts", "map-2")).updated_at[:19] + "Z")
    assert await filled.node.index.retract("books", "book-3")
    gone = identifier(filled, "books", "book-3")
    records = await in_thread(lambda: list(client(filled).ListRecords(**OAI_DC)))
    deleted = [r for r in records if r.deleted]
    assert [r.header.identifier for r in deleted] == [gone] and len(records) == 8
    assert records[-1].header.identifier == gone            # its update is the newest
    assert not hasattr(deleted[0], "metadata")
    record = await in_thread(lambda: client(filled).GetRecord(identifier=gone, **OAI_DC))
    assert record.deleted and record.header.setSpecs == ["books"]
    since = record.header.datestamp
    headers = await in_thread(lambda: list(client(filled).ListIdentifiers(
        **OAI_DC, **{"from": since})))
    assert [(h.identifier, h.deleted) for h in headers] == [(gone, True)]
    live = await in_thread(lambda: list(client(filled).ListRecords(ignore_deleted=True, **OAI_DC)))
    assert len(live) == 7


async def test_post_requests_answer_like_get(filled) -> None:
    by_get = await in_thread(lambda: [h.identifier for h in
                                      client(filled).ListIdentifiers(**OAI_DC)])
    by_post = await in_thread(lambda: [h.identifier for h in
                                       client(filled, http_method="POST").ListIdentifiers(**OAI_DC)])
    assert by_post == by_get and len(by_get) == 8
    ident = await in_thread(client(filled, http_method="POST").Identify)
    assert ident.repositoryName == "Test node"


async def test_tokens_survive_a_restart_of_the_node(tmp_path) -> None:
    first = await start_site(tmp_path / "home", oai_page_size=2)
    try:
        await add_docs(first, 3, "books", "book")
        response = await in_thread(lambda: next(iter(
            client(first, iterator=OAIResponseIterator).ListIdentifiers(**OAI_DC))))
        token = response.xml.find(".//{http://www.openarchives.org/OAI/2.0/}resumptionToken").text
    finally:
        await stop_site(first)
    again = await start_site(tmp_path / "home", oai_page_size=2)
    try:
        rest = await in_thread(lambda: list(client(again).ListIdentifiers(resumptionToken=token)))
        assert [h.identifier for h in rest] == [identifier(again, "books", "book-2")]
    finally:
        await stop_site(again)


async def test_hostile_metadata_stays_well_formed(site) -> None:
    await site.node.add(b"hostile", title="a\x00b\x0bc <script>]]> & end", source_id="h",
                        creators=["<b>x</b>"], description="\x1b[31mred\x1b[0m")
    [record] = await in_thread(lambda: list(client(site).ListRecords(**OAI_DC)))
    assert record.metadata["title"] == ["abc <script>]]> & end"]
    assert record.metadata["creator"] == ["<b>x</b>"]
    assert record.metadata["description"] == ["[31mred[0m"]


async def test_a_file_whose_cid_is_only_claimed_is_not_linked(site, tmp_path: Path) -> None:
    """A document from another author names a CID this node has not checked (it never held the
    bytes): its record lists no gateway, ipfs:// or CID identifier until the binding is verified."""
    from indexer.records import ContentIn
    from mirror.feed.identity import Identity
    from mirror.store import ContentStore
    from mirror.store.blockstore import BlockStore

    elsewhere = ContentStore(BlockStore(tmp_path / "elsewhere"))   # the bytes exist only elsewhere
    path = tmp_path / "claimed.txt"
    path.write_bytes(b"bytes this node never saw " * 40)
    result = await asyncio.to_thread(elsewhere.add_file, path)
    claimed = ContentIn(sha256=result.sha256, size=result.size, cid=str(result.cid),
                        profile=result.profile, media_type="text/plain", name="claimed.txt")
    await site.node.index.upsert_document(
        DocumentIn(collection="remote", source_id="r1", title="Remote paper", license="CC0-1.0",
                   contents=[claimed]), origin=Identity.generate().node_id)
    own = (await add_docs(site, 1, "books", "book"))[0]
    records = await in_thread(lambda: list(client(site).ListRecords(**OAI_DC)))
    by_title = {r.metadata["title"][0]: r.metadata for r in records}
    assert not any(result.cid.encode() in i or "ipfs" in i
                   for i in by_title["Remote paper"].get("identifier", []))
    assert any("/ipfs/" in i for i in by_title[own.title]["identifier"])
