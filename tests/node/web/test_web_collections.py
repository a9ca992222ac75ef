"""The list of collections at ``/collection/`` and the name a page carries (``node.name``, else the
host the page was asked from, never a malformed Host header), over a real server."""

from __future__ import annotations

from pathlib import Path

from aiohttp import ClientSession
from lxml import html
from tests.node.web_node import site, start_site, stop_site  # noqa: F401  (fixture)


async def page(url: str, **headers: str) -> tuple[int, html.HtmlElement]:
    async with ClientSession() as http:
        async with http.get(url, headers=headers, allow_redirects=False) as resp:
            return resp.status, html.fromstring(await resp.read() or b"<html/>")


async def test_the_collections_are_listed_with_counts_sizes_and_licences(site) -> None:
    for i, spdx in enumerate(("CC-BY-4.0", "CC0-1.0", "CC-BY-4.0", "MIT", "ODbL-1.0", "CC-BY-SA-4.0")):
        await site.node.add(f"chart {i}".encode(), title=f"Chart {i}", collection="maps & charts", license=spdx)
    await site.node.add(b"a book", title="Book", collection="books", license="CC0-1.0")
    status, tree = await page(site.url + "/collection/")
    rows = [[cell.text_content().strip() for cell in row.xpath("th|td")]
            for row in tree.xpath("//table[@class='collections']/tbody/tr")]
    assert [row[:3] for row in rows] == [["books", "1", "6 B"], ["maps & charts", "6", "42 B"]]
    assert rows[1][3] == "CC-BY-4.0 CC-BY-SA-4.0 CC0-1.0 and 2 more"
    assert tree.xpath("//table[@class='collections']//th/a/@href") == ["/collection/books",
                                                                    "/collection/maps%20%26%20charts"]
    assert tree.xpath("//nav//a[.='Collections']/@href") == ["/collection/"]
    status, _ = await page(site.url + "/collection")
    assert status == 301


async def test_the_page_is_named_by_the_host_unless_the_node_has_a_name(site, tmp_path: Path) -> None:
    host = site.url.removeprefix("http://")
    _, tree = await page(site.url + "/")
    assert tree.xpath("//title/text()") == [f"Search · {host}"]
    _, tree = await page(site.url + "/", Host="mirror.example.org")
    assert tree.xpath("//title/text()") == ["Search · mirror.example.org"]
    for hostile in ("evil<script>", "a b", "x" * 300, "é.example"):
        _, tree = await page(site.url + "/", Host=hostile)
        assert tree.xpath("//title/text()") == [f"Search · openmirror node {site.node.identity.node_id[:12]}"]
    named = await start_site(tmp_path / "named", name="River archive")
    try:
        _, tree = await page(named.url + "/no/such/page")
        assert tree.xpath("//title/text()") == ["Page not found · River archive"]
        status, tree = await page(named.url + "/collection/")   # (the list is kept for 30 s: asked once)
        assert status == 200 and "holds no documents yet" in tree.text_content()
    finally:
        await stop_site(named)
