"""A person finds and downloads a document in a real browser: Debian's Chromium, headless, driven
over the DevTools protocol (``cdp.py``) against a node serving its web pages and gateway.

Skipped with a reason when Chromium is absent on a developer machine; with ``CI`` set its absence
is a failure (CI installs it, see ``.ci/run``).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import pytest
from cdp import Chromium, Page

from tests.node.web_node import start_site, stop_site


@pytest.fixture
async def site(tmp_path: Path):
    server = await start_site(tmp_path / "home", name="Browser test node")
    try:
        yield server
    finally:
        await stop_site(server)


async def texts(page: Page, selector: str) -> list[str]:
    return await page.evaluate(
        f"[...document.querySelectorAll({selector!r})].map(e => e.textContent.trim())")


async def test_search_open_a_document_and_download_it(chromium_available, site, tmp_path) -> None:
    data = b"%PDF-1.4\n" + os.urandom(300_000)
    doc = await site.node.add(data, name="river-atlas.pdf", media_type="application/pdf",
                              title="River atlas of the north", creators=["Ada Lovelace"],
                              license="CC-BY-4.0", collection="maps", date="2021")
    await site.node.add(b"another", title="Mountain notes", license="CC0-1.0")
    cid, sha256 = doc.contents[0].cid, doc.contents[0].sha256
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    async with Chromium.launch(tmp_path) as browser:
        await browser.allow_downloads(downloads)
        page = await browser.new_page()
        await page.goto(site.url + "/")
        assert (await page.evaluate("document.title")).startswith("Search")
        assert await page.evaluate("document.activeElement.id") == "f-q"    # autofocus
        await page.click("#f-q")
        await page.type_text("river atlas")
        async with page.navigation():
            await page.press_enter()
        assert await page.evaluate("new URLSearchParams(location.search).get('q')") == "river atlas"
        assert await texts(page, "ol.results h3") == ["River atlas of the north"]

        async with page.navigation():
            await page.click("ol.results h3 a")
        assert await page.evaluate("location.pathname") == f"/doc/{cid}"
        assert await texts(page, "h1") == ["River atlas of the north"]
        assert await texts(page, "code.cid") == [cid]
        assert "CC-BY-4.0" in await texts(page, "a.badge")
        mark = len(browser.conn.events)
        await page.click("a.download.button")
        done = await browser.conn.wait_event(
            "Browser.downloadProgress", since=mark,
            match=lambda p: p.get("state") in ("completed", "canceled"))
        assert done["params"]["state"] == "completed"
        begun = await browser.conn.wait_event("Browser.downloadWillBegin", since=mark)
        assert begun["params"]["suggestedFilename"] == "river-atlas.pdf"
    saved = downloads / "river-atlas.pdf"
    digest = await asyncio.to_thread(lambda: hashlib.sha256(saved.read_bytes()).hexdigest())
    assert digest == sha256 == hashlib.sha256(data).hexdigest()
