"""The web page at first sight (issue 16 item 7), in Debian's Chromium, headless, at 1280x900 and on a
390x844 phone: the first result on the first screen (measured where the browser lays it out, and
a screenshot kept in the test's folder), the filters folded, the collections list, the 404 and 405
pages in the site's style, and the page title from ``node.name`` or the host.

Skipped with a reason when Chromium is absent on a developer machine; with ``CI`` set its absence
is a failure (CI installs it, see ``.ci/run``).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import aiohttp
import pytest
from cdp import Chromium, Page

from tests.node.web_node import start_site, stop_site

SCREENS = {"desktop": (1280, 900, False), "phone": (390, 844, True)}


@pytest.fixture
async def site(tmp_path: Path):
    server = await start_site(tmp_path / "home")
    try:
        for i in range(12):
            await server.node.add(os.urandom(3000 + i), name=f"survey-{i}.pdf", media_type="application/pdf",
                                  title=f"River survey of the northern valleys, volume {i}",
                                  creators=["Ada Lovelace", "Grace Hopper"], license="CC-BY-4.0",
                                  collection="maps" if i % 2 else "surveys", date="2021",
                                  description="Water levels measured at forty stations over ten years.")
        yield server
    finally:
        await stop_site(server)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


async def on_screen(page: Page, selector: str) -> bool:
    """True when the element SELECTOR names lies wholly inside the viewport, unscrolled."""
    box = await page.box(selector)
    width, height = await page.evaluate("[innerWidth, innerHeight]")
    return 0 <= box["top"] and box["bottom"] <= height and 0 <= box["left"] and box["right"] <= width


@pytest.mark.parametrize("screen", SCREENS)
async def test_results_start_on_the_first_screen(chromium_available, site, tmp_path: Path, screen: str) -> None:
    width, height, mobile = SCREENS[screen]
    host = site.url.removeprefix("http://")
    async with Chromium.launch(tmp_path) as browser:
        page = await browser.new_page()
        await page.viewport(width, height, mobile=mobile)
        for path, first in (("/?q=river", "River survey of the northern valleys, volume 0"),
                            ("/", "River survey of the northern valleys, volume 11")):
            await page.goto(site.url + path)
            shot = await page.screenshot(tmp_path / f"{screen}-{'results' if '?' in path else 'home'}.png")
            assert png_size(shot) == (width, height)
            assert await page.evaluate("document.querySelector('ol.results h3').textContent") == first
            for part in ("ol.results > li:first-child h3", "ol.results > li:first-child dl",
                         "ol.results > li:first-child a.download"):
                assert await on_screen(page, part), (screen, path, part, await page.box(part))
            assert await page.evaluate("document.scrollingElement.scrollWidth") <= width   # no sideways scroll
            assert await page.evaluate("document.querySelector('details.filters').open") is False
        await page.goto(site.url + "/?q=river&collection=maps")       # a filter set: the filters show
        await page.screenshot(tmp_path / f"{screen}-filtered.png")
        assert await page.evaluate("document.title") == f"“river” · {host}"
        assert await page.evaluate("document.querySelector('details.filters').open") is True
        assert await on_screen(page, "#f-collection")
        if screen == "desktop":                  # the filters in one row: the results still show
            tops = await page.evaluate("[...document.querySelectorAll('.filter-grid input, .filter-grid select')]"
                                       ".map(e => e.getBoundingClientRect().top)")
            assert len(tops) == 6 and max(tops) - min(tops) < 1
            assert await on_screen(page, "ol.results > li:first-child h3")


@pytest.mark.parametrize("screen", SCREENS)
async def test_collections_and_problem_pages_look_like_the_site(chromium_available, site, tmp_path: Path,
                                                                screen: str) -> None:
    width, height, mobile = SCREENS[screen]
    async with aiohttp.ClientSession() as http:
        async with http.put(site.url + "/") as resp:
            assert resp.status == 405 and resp.content_type == "text/html"
            not_allowed = await resp.text()
    async with Chromium.launch(tmp_path) as browser:
        page = await browser.new_page()
        await page.viewport(width, height, mobile=mobile)
        await page.goto(site.url + "/collection/")
        await page.screenshot(tmp_path / f"{screen}-collections.png")
        rows = await page.evaluate("[...document.querySelectorAll('table.collections tbody tr')]"
                                   ".map(r => [r.querySelector('a').textContent, r.cells[1].textContent])")
        assert rows == [["maps", "6"], ["surveys", "6"]]
        assert await on_screen(page, "table.collections tbody tr:last-child th")
        assert await page.evaluate("document.scrollingElement.scrollWidth") <= width
        async with page.navigation():
            await page.click("table.collections a")
        assert await page.evaluate("location.pathname") == "/collection/maps"

        await page.goto(site.url + "/no/such/page")
        await page.screenshot(tmp_path / f"{screen}-404.png")
        assert await page.evaluate("document.title") == f"Page not found · {site.url.removeprefix('http://')}"
        assert await page.evaluate("getComputedStyle(document.querySelector('header.site')).borderBottomStyle") \
            == "solid"                                     # the site's stylesheet is applied
        assert await page.evaluate("document.querySelector('main p').textContent") == \
            "There is nothing at this address."
        await page.send("Page.setDocumentContent", {"frameId": await _frame(page), "html": not_allowed})
        await page.screenshot(tmp_path / f"{screen}-405.png")
        assert await page.evaluate("document.querySelector('h1').textContent") == "Method not allowed"
        assert await page.evaluate("getComputedStyle(document.querySelector('header.site')).borderBottomStyle") \
            == "solid"


async def _frame(page: Page) -> str:
    tree = await page.send("Page.getFrameTree")
    return tree["frameTree"]["frame"]["id"]


async def test_the_title_is_the_node_name_when_it_has_one(chromium_available, tmp_path: Path) -> None:
    server = await start_site(tmp_path / "home", name="River archive")
    try:
        async with Chromium.launch(tmp_path) as browser:
            page = await browser.new_page()
            await page.goto(server.url + "/")
            assert await page.evaluate("document.title") == "Search · River archive"
            assert await page.evaluate("document.querySelector('.brand a').textContent") == "River archive"
    finally:
        await stop_site(server)
