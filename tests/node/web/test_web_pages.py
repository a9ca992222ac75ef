"""The node's web pages over a real server: search, filters, pagination, document and collection
pages, not-found and error states, hostile metadata, and the stylesheet."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from aiohttp import ClientSession
from lxml import html
from tests.node.web_node import WebServer, http, site, start_site, stop_site  # noqa: F401  (fixtures)

from indexer import copies as copy_rows
from indexer.copies import HoldingRow
from indexer.records import ContentIn, DocumentIn, SearchQuery
from indexer.clock import entry_time


async def get(http: ClientSession, url: str) -> tuple[int, html.HtmlElement, dict]:
    async with http.get(url) as resp:
        body = await resp.read()
        return resp.status, html.fromstring(body), dict(resp.headers)


def texts(tree: html.HtmlElement, xpath: str) -> list[str]:
    return [el.text_content().strip() for el in tree.xpath(xpath)]


def result_titles(tree: html.HtmlElement) -> list[str]:
    return texts(tree, "//ol[@class='results']/li//h3")


async def fill(site: WebServer) -> dict[str, str]:
    """Four documents differing in every filter; returns title -> CID."""
    node = site.node
    rows = [("River atlas", "CC-BY-4.0", "maps", "dataset", "2019-05-01", "en"),
            ("River songs", "CC0-1.0", "music", "sound", "2021", "pt-BR"),
            ("Mountain atlas", "CC-BY-SA-4.0", "maps", "dataset", "2023-02", "en-GB"),
            ("Lake notes", "ODbL-1.0", "notes", "text", None, "de")]
    cids = {}
    for title, spdx, coll, kind, date, lang in rows:
        doc = await node.add(f"{title} bytes".encode(), name=title.replace(" ", "_") + ".txt",
                             title=title, license=spdx, collection=coll, type=kind, date=date,
                             language=lang, creators=["Ada Lovelace", "C. Babbage"])
        cids[title] = doc.contents[0].cid
    return cids


async def test_a_search_shows_each_result_with_its_facts(site, http) -> None:
    node = site.node
    doc = await node.add(b"x" * 1536, name="atlas.pdf", media_type="application/pdf",
                         title="World atlas", creators=["Ada Lovelace", "C. Babbage"],
                         license="CC-BY-4.0", collection="maps", date="2020-01-02")
    cid = doc.contents[0].cid
    status, tree, headers = await get(http, f"{site.url}/?q=atlas")
    assert status == 200
    [item] = tree.xpath("//ol[@class='results']/li")
    assert item.xpath(".//h3/a/@href") == [f"/doc/{cid}"]
    assert item.xpath(".//h3/a")[0].text_content() == "World atlas"
    assert texts(item, ".//p[@class='creators']") == ["Ada Lovelace, C. Babbage"]
    badge = item.xpath(".//a[contains(@class, 'badge')]")[0]
    assert badge.text == "CC-BY-4.0"
    assert badge.get("href") == "https://creativecommons.org/licenses/by/4.0/"
    assert item.xpath(".//a[@href='/collection/maps']/text()") == ["maps"]
    facts = dict(zip(texts(item, ".//dt"), texts(item, ".//dd")))
    assert facts["Size"] == "1.5 KiB" and facts["Date"] == "2020-01-02"
    assert facts["Type"] == "application/pdf"
    download = item.xpath(".//a[@class='download']")[0]
    assert download.get("href") == f"/ipfs/{cid}?filename=atlas.pdf"
    assert download.get("download") == "atlas.pdf"
    assert texts(item, ".//mark") == ["atlas"]
    assert "nosniff" == headers["X-Content-Type-Options"]
    assert "default-src 'self'" in headers["Content-Security-Policy"]


async def test_the_download_link_reaches_the_gateway(site, http) -> None:
    data = b"%PDF-1.4 some bytes"
    doc = await site.node.add(data, name="paper.pdf", media_type="application/pdf", title="Paper",
                              source_url="https://origin.example/files/paper.pdf")
    _, tree, _ = await get(http, f"{site.url}/?q=paper")
    href = tree.xpath("//a[@class='download']/@href")[0]
    assert href == f"/ipfs/{doc.contents[0].cid}?filename=paper.pdf"
    async with http.get(site.url + href) as resp:
        assert resp.status == 200 and await resp.read() == data


FILTERS = [
    ("license=CC-BY-4.0", {"River atlas"}),
    ("license=CC-BY*", {"River atlas", "Mountain atlas"}),
    ("license=CC-BY-SA*", {"Mountain atlas"}),
    ("collection=maps", {"River atlas", "Mountain atlas"}),
    ("type=sound", {"River songs"}),
    ("after=2021", {"River songs", "Mountain atlas"}),
    ("before=2021", {"River atlas"}),
    ("after=2019-06&before=2023-03", {"River songs", "Mountain atlas"}),
    ("lang=en", {"River atlas", "Mountain atlas"}),
    ("lang=pt-BR", {"River songs"}),
    ("q=river&collection=music", {"River songs"}),
    ("q=atlas&license=CC-BY-SA*&lang=en", {"Mountain atlas"}),
]


async def test_every_filter_narrows_the_results(site, http) -> None:
    await fill(site)
    for query, expected in FILTERS:
        status, tree, _ = await get(http, f"{site.url}/?{query}")
        assert status == 200, query
        assert set(result_titles(tree)) == expected, query


async def test_filters_keep_their_values_in_the_form(site, http) -> None:
    await fill(site)
    _, tree, _ = await get(http, f"{site.url}/?q=atlas&license=CC-BY*&collection=maps&lang=en")
    assert tree.xpath("//input[@name='q']/@value") == ["atlas"]
    assert tree.xpath("//input[@name='license']/@value") == ["CC-BY*"]
    assert tree.xpath("//select[@name='collection']/option[@selected]/@value") == ["maps"]
    assert tree.xpath("//select[@name='collection']/option/@value") == ["", "maps", "music", "notes"]


async def test_no_match_and_an_empty_node_say_so(site, http) -> None:
    status, tree, _ = await get(http, f"{site.url}/")
    assert status == 200 and "holds no documents yet" in tree.text_content()
    await fill(site)
    _, tree, _ = await get(http, f"{site.url}/")
    assert len(result_titles(tree)) == 4 and "Newest documents" in texts(tree, "//h2")
    status, tree, _ = await get(http, f"{site.url}/?q=zeppelin")
    assert status == 200 and result_titles(tree) == []
    assert "No documents match" in tree.text_content()


async def test_pages_of_twenty_with_previous_and_next(site, http) -> None:
    files = [ContentIn(sha256=f"{i:064x}", size=10, cid=f"bafkrei{i:052d}", profile="unixfs-v1-2025")
             for i in range(45)]
    await site.node.index.upsert_documents([
        DocumentIn(collection="books", source_id=f"item-{i}", title=f"Item {i:02d} river",
                   license="CC0-1.0", contents=[file]) for i, file in enumerate(files)])
    _, first, _ = await get(http, f"{site.url}/?q=river")
    assert len(result_titles(first)) == 20
    assert first.xpath("//nav[@aria-label='Pagination']//a/text()") == ["Next page"]
    next_href = first.xpath("//a[@rel='next']/@href")[0]
    assert next_href == "/?q=river&page=2"
    _, second, _ = await get(http, site.url + next_href)
    _, third, _ = await get(http, f"{site.url}/?q=river&page=3")
    assert len(result_titles(second)) == 20 and len(result_titles(third)) == 5
    assert third.xpath("//a[@rel='prev']/@href") == ["/?q=river&page=2"]
    assert third.xpath("//a[@rel='next']") == []
    assert third.xpath("//ol[@class='results']/@start") == ["41"]
    seen = result_titles(first) + result_titles(second) + result_titles(third)
    assert len(set(seen)) == 45
    status, beyond, _ = await get(http, f"{site.url}/?q=river&page=4")
    assert status == 200 and "no more results" in beyond.text_content()


BAD_QUERIES = [
    ("q=%22", "nothing to search for"),
    ("q=river&license=CC+BY!", "not an SPDX licence id"),
    ("after=20x1", "not a date"),
    ("lang=%3Cscript%3E", "not a language tag"),
    ("page=0", "page must be a number"),
    ("page=abc", "page must be a number"),
    ("page=99999999999999999999", "page must be a number"),
    ("q=" + "a" * 1001, "too long"),
]


async def test_a_bad_query_is_a_friendly_400(site, http) -> None:
    await fill(site)
    for query, words in BAD_QUERIES:
        status, tree, headers = await get(http, f"{site.url}/?{query}")
        assert status == 400, query
        alert = texts(tree, "//*[@role='alert']")
        assert len(alert) == 1 and words in alert[0], query
        assert tree.xpath("//form[@role='search']//input[@name='q']"), query
        assert headers["Content-Type"].startswith("text/html"), query


HOSTILE = "<script>alert('t')</script><img src=x onerror=alert(1)>&amp; \x00\x07\ufffe end"


async def test_hostile_metadata_is_shown_as_text_everywhere(site, http) -> None:
    doc = await site.node.add(b"hostile", title=HOSTILE + " river", creators=[HOSTILE],
                              description=HOSTILE, subjects=[HOSTILE], collection="evil<b>",
                              source_url="javascript:alert(1)", landing_url="data:text/html,x",
                              license_statement=HOSTILE, type="text", date="2020",
                              http_headers={"Content-Type": HOSTILE}, license="CC0-1.0",
                              license_url="javascript:alert(2)")
    cid = doc.contents[0].cid
    shown = "<script>alert('t')</script><img src=x onerror=alert(1)>&amp;  end"
    for path in ("/?q=river", f"/doc/{cid}", "/collection/evil%3Cb%3E"):
        status, tree, _ = await get(http, site.url + path)
        assert status == 200, path
        assert tree.xpath("//script | //img | //*[@onerror] | //b") == [], path
        hrefs = tree.xpath("//@href | //@src | //@action")
        assert not [h for h in hrefs if h.strip().lower().startswith(("javascript:", "data:"))]
        assert shown in tree.text_content(), path
    _, tree, _ = await get(http, f"{site.url}/doc/{cid}")
    assert "javascript:alert(1)" in texts(tree, "//tr[th='Source URL']/td")
    assert tree.xpath("//a[contains(@class,'badge')]/@href") == [
        "https://creativecommons.org/publicdomain/zero/1.0/"] * 2


async def test_the_document_page_shows_metadata_and_provenance(site, http) -> None:
    data = b"provenance " * 300
    doc = await site.node.add(
        data, name="report.txt", title="Annual report", creators=["Ada"], subjects=["rivers", "maps"],
        description="First paragraph.\n\nSecond paragraph.", date="2020-02-03", type="text",
        language="en", source_url="https://origin.example/report", landing_url="https://origin.example/r",
        final_url="https://cdn.origin.example/report.txt", retrieved_at="2024-05-06T07:08:09Z",
        http_status=200, http_headers={"Content-Type": "text/plain", "ETag": '"abc"',
                                       "Set-Cookie": "secret=1"},
        license="CC-BY-4.0", license_statement="Licensed under CC BY 4.0 (see footer)")
    content = doc.contents[0]
    status, tree, _ = await get(http, f"{site.url}/doc/{content.cid}")
    assert status == 200
    assert texts(tree, "//h1") == ["Annual report"]
    rows = dict(zip(texts(tree, "//tr/th[@scope='row']"), texts(tree, "//tr/th[@scope='row']/../td")))
    assert rows["CID"] == content.cid
    assert rows["SHA-256"] == hashlib.sha256(data).hexdigest() == content.sha256
    assert rows["Profile"] == content.profile
    assert rows["Size"] == f"3.2 KiB ({len(data)} bytes)"
    assert rows["Media type"] == "text/plain"
    assert rows["Held on this node"] == "yes"
    assert rows["Known live copies"] == "1 (this node)"
    assert rows["Subjects"] == "rivers; maps" and rows["Language"] == "en"
    assert rows["Source URL"] == "https://origin.example/report"
    assert rows["Final URL"] == "https://cdn.origin.example/report.txt"
    assert rows["Landing page"] == "https://origin.example/r"
    assert rows["Retrieved"] == "2024-05-06T07:08:09Z" and rows["HTTP status"] == "200"
    assert "content-type: text/plain" in rows["Response headers"]
    assert 'etag: "abc"' in rows["Response headers"]
    assert "secret" not in rows["Response headers"]
    assert rows["Licence statement as found"] == "Licensed under CC BY 4.0 (see footer)"
    assert texts(tree, "//section[h2='Description']/p") == ["First paragraph.", "Second paragraph."]
    assert tree.xpath("//a[contains(@class,'download')]/@href") == [
        f"/ipfs/{content.cid}?filename=report.txt"]
    assert tree.xpath("//a[@href='https://origin.example/report']/@rel") == [
        "nofollow noopener noreferrer"]


async def announce(site: WebServer, author: str, sha256: str, seen: datetime) -> None:
    """Store another node's holdings announcement claiming SHA256 (the diffusion tables)."""
    row = HoldingRow(author=author, seq=1, ts=entry_time(seen), seen_at=entry_time(seen),
                     url=f"http://{author}.example", budget=1 << 30, used=0, count=1,
                     set_hash=hashlib.sha256(author.encode()).digest(), set_data=b"",
                     payload=b"{}", signature=b"")
    async with site.node.index.transaction() as tx:
        assert await copy_rows.put_holding(await tx.connection(), row, [sha256[:16]])


async def test_the_document_page_counts_live_copies_on_other_nodes(site, http) -> None:
    doc = await site.node.add(b"widely held", title="Popular")
    content = doc.contents[0]
    now = datetime.now(timezone.utc)
    await announce(site, "alive", content.sha256, now)
    await announce(site, "stale", content.sha256, now - timedelta(hours=2))
    _, tree, _ = await get(http, f"{site.url}/doc/{content.cid}")
    assert texts(tree, "//span[@class='copies']") == ["2 (this node and 1 other node)"]
    absent = ContentIn(sha256="ab" * 32, size=10, cid="bafkreiabababababababababababababababababababababababababab",
                       profile="unixfs-v1-2025", media_type="text/plain", name="absent.txt")
    await site.node.index.upsert_document(DocumentIn(collection="books", source_id="absent",
                                                     title="Elsewhere", license="CC0-1.0",
                                                     contents=[absent]))
    await announce(site, "holder", absent.sha256, now)
    _, tree, _ = await get(http, f"{site.url}/doc/{absent.cid}")
    rows = dict(zip(texts(tree, "//tr/th"), texts(tree, "//tr/td")))
    assert rows["Held on this node"] == "no"
    assert rows["Known live copies"] == "1 (on another node)"


async def test_the_document_page_is_reached_by_sha256_too(site, http) -> None:
    doc = await site.node.add(b"by digest", title="Digest")
    status, tree, _ = await get(http, f"{site.url}/doc/{doc.contents[0].sha256}")
    assert status == 200 and texts(tree, "//h1") == ["Digest"]


async def test_unknown_documents_and_collections_are_404_pages(site, http) -> None:
    await fill(site)
    for path in ("/doc/bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                 "/doc/not-a-cid!", "/doc/" + "a" * 300, "/collection/nope",
                 "/collection/" + "x" * 2000):
        status, tree, headers = await get(http, site.url + path)
        assert status == 404, path
        assert len(tree.xpath("//h1")) == 1 and "not found" in texts(tree, "//h1")[0], path
        assert headers["Content-Security-Policy"].startswith("default-src 'self'"), path


async def test_a_retracted_document_is_a_410_page(site, http) -> None:
    doc = await site.node.add(b"gone soon", title="Withdrawn", source_id="w-1")
    assert await site.node.index.retract("books", "w-1")
    status, tree, _ = await get(http, f"{site.url}/doc/{doc.contents[0].cid}")
    assert status == 410 and texts(tree, "//h1") == ["Document retracted"]
    _, tree, _ = await get(http, f"{site.url}/?q=withdrawn")
    assert result_titles(tree) == []


async def test_the_collection_page_counts_licences_and_lists_recent_documents(site, http) -> None:
    await fill(site)
    await site.node.add(b"one more map", title="Sea chart", collection="maps", license="CC-BY-4.0")
    await site.node.add(b"retract me", title="Old map", collection="maps", source_id="old")
    assert await site.node.index.retract("maps", "old")
    status, tree, _ = await get(http, f"{site.url}/collection/maps")
    assert status == 200
    assert texts(tree, "//h1") == ["Collection maps"]
    facts = dict(zip(texts(tree, "//table[@class='facts']//th"),
                     texts(tree, "//table[@class='facts']//td")))
    assert facts["Documents"] == "3" and facts["Retracted"] == "1"
    size = sum(len(t.encode()) for t in ("River atlas bytes", "Mountain atlas bytes", "one more map"))
    assert facts["Total size"] == f"{size} B"
    licences = dict(zip(texts(tree, "//table[@class='licences']/tbody//th"),
                        texts(tree, "//table[@class='licences']/tbody//td")))
    assert licences == {"CC-BY-4.0": "2", "CC-BY-SA-4.0": "1"}
    assert result_titles(tree) == ["Sea chart", "Mountain atlas", "River atlas"]
    assert tree.xpath("//a[text()='Search this collection']/@href") == ["/?collection=maps"]


async def test_the_stylesheet_is_served_by_the_node_with_an_etag(site, http) -> None:
    async with http.get(f"{site.url}/static/site.css") as resp:
        assert resp.status == 200 and resp.content_type == "text/css"
        assert b":focus-visible" in await resp.read()
        etag = resp.headers["ETag"]
    async with http.get(f"{site.url}/static/site.css", headers={"If-None-Match": etag}) as resp:
        assert resp.status == 304
    for name in ("nope.css", "..%2Fweb.py", "%2e%2e%2fweb.py"):
        async with http.get(f"{site.url}/static/{name}") as resp:
            assert resp.status == 404


async def test_the_index_answers_the_same_hits_the_page_shows(site, http) -> None:
    await fill(site)
    hits = await site.node.index.search(SearchQuery("atlas"))
    _, tree, _ = await get(http, f"{site.url}/?q=atlas")
    assert result_titles(tree) == [h.title for h in hits]
