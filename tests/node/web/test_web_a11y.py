"""Accessibility and hygiene basics of every kind of page, checked on the parsed HTML: language,
one h1, headings in order, labelled controls, a skip link, table headers with scope, no script,
no inline style, no asset from another origin, and the security headers."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from aiohttp import ClientSession
from lxml import html
from tests.node.web_node import start_site, stop_site


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pages(tmp_path_factory: pytest.TempPathFactory):
    """(path, status, parsed page, headers) for one page of every kind (read once per module)."""
    server = await start_site(tmp_path_factory.mktemp("a11y") / "home")
    try:
        doc = await server.node.add(b"accessible", title="Readable atlas", collection="maps",
                                    description="Text.", source_url="https://origin.example/a")
        cid = doc.contents[0].cid
        paths = ["/", "/?q=atlas", "/?q=atlas&page=2", "/?q=%22", f"/doc/{cid}",
                 "/collection/maps", "/collection/none", "/doc/bafkreinothere", "/collection/",
                 "/no/such/page"]
        found = []
        async with ClientSession() as http:
            for path in paths:
                async with http.get(server.url + path) as resp:
                    found.append((path, resp.status, html.fromstring(await resp.read()),
                                  dict(resp.headers)))
        yield found
    finally:
        await stop_site(server)


def test_every_page_declares_its_language_and_has_one_h1(pages) -> None:
    for path, _status, tree, _headers in pages:
        assert tree.get("lang") == "en", path
        assert len(tree.xpath("//h1")) == 1, path
        assert tree.xpath("//head/title/text()"), path
        assert tree.xpath("//meta[@charset='utf-8']"), path


def test_headings_never_skip_a_level(pages) -> None:
    for path, _status, tree, _headers in pages:
        levels = [int(el.tag[1]) for el in tree.iter("h1", "h2", "h3", "h4", "h5", "h6")]
        assert levels[0] == 1, path
        assert all(b <= a + 1 for a, b in zip(levels, levels[1:])), (path, levels)


def test_every_form_control_has_a_label(pages) -> None:
    for path, _status, tree, _headers in pages:
        labelled = set(tree.xpath("//label/@for"))
        controls = tree.xpath("//input[not(@type='hidden') and not(@type='submit')] | //select"
                              " | //textarea")
        for control in controls:
            assert control.get("id") in labelled, (path, control.get("name"))
        ids = tree.xpath("//@id")
        assert len(ids) == len(set(ids)), path                # ids are unique
        for ref in tree.xpath("//@aria-describedby | //@aria-labelledby | //@list"):
            assert ref in ids, (path, ref)
        assert tree.xpath("//button[@type='submit']") or not controls, path


def test_a_skip_link_leads_to_main(pages) -> None:
    for path, _status, tree, _headers in pages:
        first_link = tree.xpath("//body//a")[0]
        assert first_link.get("href") == "#main", path
        assert tree.xpath("//main[@id='main']"), path


def test_tables_have_scoped_headers(pages) -> None:
    for path, _status, tree, _headers in pages:
        for th in tree.xpath("//th"):
            assert th.get("scope") in ("row", "col"), path
    [doc] = [tree for path, _s, tree, _h in pages if path.startswith("/doc/baf") and _s == 200]
    assert doc.xpath("//table//th[@scope='row']")


def test_no_script_no_inline_style_and_only_local_assets(pages) -> None:
    for path, _status, tree, headers in pages:
        assert tree.xpath("//script | //style | //iframe | //object | //embed") == [], path
        assert tree.xpath("//@style") == [], path
        assert [a for a in tree.xpath("//@*") if a.attrname.startswith("on")] == [], path
        assets = tree.xpath("//link/@href | //img/@src | //source/@src | //form/@action")
        assert assets, path
        assert all(not urlsplit(url).netloc and not urlsplit(url).scheme for url in assets), path
        assert tree.xpath("//link[@rel='stylesheet']/@href") == ["/static/site.css"]
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_focus_styles_exist_for_keyboard_users() -> None:
    css = (Path(__file__).resolve().parents[3] / "mirror/node/web/static/site.css").read_text()
    assert ":focus-visible" in css and "outline" in css
    assert "http://" not in css and "https://" not in css and "@import" not in css


def test_status_codes_of_the_sample(pages) -> None:
    assert [status for _p, status, _t, _h in pages] == [200, 200, 200, 400, 200, 200, 404, 404, 200, 404]
