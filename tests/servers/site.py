"""A small website with sitemaps (a real aiohttp server on 127.0.0.1, port 0) for tests.

Distinct from ``tests.servers.origin`` (awkward HTTP behaviour): this one is about *content*: every
way a page states its licence, sitemaps in all their forms, robots.txt, scope and depth.

Fixture (import it into a conftest: ``from tests.servers.site import site_server``):

``site_server`` -> ``SiteServer``
    ``.url``          ``http://127.0.0.1:PORT``; ``.docs`` the start page ``.url + "/docs/"``
    ``.sitemap``      ``.url + "/sitemap_index.xml"`` (an index of ``/sitemaps/pages.xml`` and the
                      gzipped ``/sitemaps/more.xml.gz``); ``.urlset`` ``.url + "/sitemaps/pages.xml"``
    ``.pages``        path -> ``SitePage`` (html, extra headers, lastmod, content type); edit a
                      page's ``lastmod`` (``touch(path)``) to simulate a change
    ``.requests``     every request as ``Seen(path, query, monotonic time)``
    ``.crawl_delay``  when set, robots.txt carries ``Crawl-delay``
    ``.conditional``, ``.not_modified``, ``.validators``   conditional requests (``local_app.FakeServer``):
                      every page and file has an ETag and a Last-Modified (its lastmod)

Pages under ``/docs/`` (the crawl scope), by licence markup:
    license-link.html  ``<link rel="license">`` CC BY 4.0
    license-a.html     ``<a rel="license">`` to a CC BY-SA ``deed.fr`` URL
    jsonld.html        schema.org JSON-LD ``license`` CC0
    dc-meta.html       ``DC.rights`` meta tag (and DC.title/creator/date/language)
    link-header.html   only an HTTP ``Link: <...>; rel="license"`` header
    nc.html            a CC BY-NC licence link
    no-license.html    no licence at all
    paper.html         Highwire ``citation_*`` tags with ``citation_pdf_url`` -> ``paper.pdf``
    data.html          plain links to ``table.csv``, ``/files/report.pdf`` (same host, out of the
                       path scope), ``download?id=7`` (no extension, answers CSV) and a PDF on another
                       host; CC BY 4.0
    deep/1.html ... deep/5.html   a chain for the depth limit
    private/secret.html           disallowed by robots.txt
    gone.html                     linked and listed, answers 404
    redirect                      a 302 to license-link.html
``/collection/manifest.jsonl`` is a remote manifest naming ``files/a.txt`` (relative to it).
``/journal/`` links three pages whose photo captions carry CC BY-SA: one whose footer says its text is
CC BY-NC, one whose footer says in German that it is CC BY-SA, and one whose head says CC BY while
its footer says CC BY-NC-SA.
The index ``/docs/`` links them all, plus ``/other/page.html`` (out of scope), another host,
``mailto:``, ``javascript:`` and fragment links. ``/image.png`` is a PNG (not a collection).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import AsyncIterator

import pytest
from aiohttp import web

from tests.servers.local_app import FakeServer, running

CC_BY = "https://creativecommons.org/licenses/by/4.0/"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"


@dataclass
class SitePage:
    body: bytes
    content_type: str = "text/html"
    headers: dict[str, str] = field(default_factory=dict)
    lastmod: str | None = "2024-01-01"


def _html(title: str, head: str = "", body: str = "") -> bytes:
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
            f"<meta name='description' content='About {title}.'>{head}</head>"
            f"<body><h1>{title}</h1>{body}</body></html>").encode()


def make_pages() -> dict[str, SitePage]:
    index_links = ["license-link.html", "license-a.html", "jsonld.html", "dc-meta.html", "link-header.html",
                   "nc.html", "no-license.html", "paper.html", "data.html", "deep/1.html", "private/secret.html",
                   "gone.html", "redirect", "/other/page.html", "http://elsewhere.invalid/page.html",
                   "mailto:someone@example.org", "javascript:void(0)", "#top", "license-link.html#part-2"]
    jsonld = ('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Dataset", '
              '"name": "JSON-LD page", "license": "https://creativecommons.org/publicdomain/zero/1.0/"}</script>')
    pages = {
        "/docs/": SitePage(_html("Documents", body="".join(f"<a href='{h}'>{h}</a>" for h in index_links))),
        "/docs/license-link.html": SitePage(_html("Link licence", f"<link rel='license' href='{CC_BY}'>")),
        "/docs/license-a.html": SitePage(_html("Anchor licence", body=(
            "<a rel='license' href='http://creativecommons.org/licenses/by-sa/4.0/deed.fr'>CC BY-SA</a>"))),
        "/docs/jsonld.html": SitePage(_html("JSON-LD page", jsonld), lastmod="2024-02-01"),
        "/docs/dc-meta.html": SitePage(_html("DC page", (
            f"<meta name='DC.rights' content='{CC_BY}'><meta name='DC.title' content='Dublin Core title'>"
            "<meta name='DC.creator' content='Doe, Jane'><meta name='DC.date' content='2019-05-06'>"
            "<meta name='DC.language' content='fr'>"))),
        "/docs/link-header.html": SitePage(_html("Header licence"), headers={"Link": f'<{CC_BY}>; rel="license"'}),
        "/docs/nc.html": SitePage(_html("NC page", "<link rel='license' "
                                                   "href='https://creativecommons.org/licenses/by-nc/4.0/'>")),
        "/docs/no-license.html": SitePage(_html("No licence")),
        "/docs/paper.html": SitePage(_html("Paper page", (
            "<meta name='citation_title' content='A paper about mirrors'>"
            "<meta name='citation_author' content='Smith, Ann'><meta name='citation_author' content='Lee, Bo'>"
            "<meta name='citation_publication_date' content='2021/03/04'>"
            "<meta name='citation_pdf_url' content='paper.pdf'>"
            f"<link rel='license' href='{CC_BY}'>"))),
        "/docs/paper.pdf": SitePage(b"%PDF-1.4\n% a paper about mirrors\n%%EOF\n", "application/pdf"),
        "/docs/data.html": SitePage(_html("Data page", f"<link rel='license' href='{CC_BY}'>", (
            "<a href='table.csv'>table</a><a href='/files/report.pdf'>report</a>"
            "<a href='download?id=7'>download</a><a href='http://elsewhere.invalid/x.pdf'>elsewhere</a>"))),
        "/docs/table.csv": SitePage(b"a,b\n1,2\n", "text/csv"),
        "/docs/download": SitePage(b"id,value\n7,42\n", "text/csv"),
        "/files/report.pdf": SitePage(b"%PDF-1.4\n% report\n%%EOF\n", "application/pdf"),
        "/docs/private/secret.html": SitePage(_html("Secret")),
        "/other/page.html": SitePage(_html("Out of scope")),
        "/collection/manifest.jsonl": SitePage(b'{"url": "files/a.txt", "license": "CC-BY-4.0", "title": "A"}\n',
                                               "application/x-ndjson"),
        "/collection/files/a.txt": SitePage(b"a text\n", "text/plain"),
    }
    pages.update(journal_pages())
    for n in range(1, 6):
        nxt = f"<a href='{n + 1}.html'>next</a>" if n < 5 else ""
        pages[f"/docs/deep/{n}.html"] = SitePage(_html(f"Deep {n}", f"<link rel='license' href='{CC_BY}'>", nxt))
    return pages


def journal_pages() -> dict[str, SitePage]:
    """``/journal/``: pages whose licence is the page's, not their photos', and written in prose."""
    caption = ("<figure><img src='/image.png' alt=''><figcaption>Photo: A. B., <a rel='license' "
               "href='https://creativecommons.org/licenses/by-sa/4.0/'>CC BY-SA 4.0</a></figcaption></figure>")
    return {
        "/journal/": SitePage(_html("Journal", body="<a href='caption.html'>1</a><a href='prose-de.html'>2</a>"
                                                    "<a href='disagree.html'>3</a>")),
        "/journal/caption.html": SitePage(_html("A photo essay", body=caption + (
            "<footer><p>Text licensed under CC BY-NC 4.0.</p></footer>"))),
        "/journal/prose-de.html": SitePage(_html("Ein Artikel", body=caption + (
            "<footer><p>Die Inhalte stehen unter der Lizenz CC BY-SA 4.0.</p></footer>"))),
        "/journal/disagree.html": SitePage(_html("Two licences", f"<link rel='license' href='{CC_BY}'>", (
            "<footer><p>All content is licensed under CC BY-NC-SA 4.0.</p></footer>"))),
    }


PAGES_SITEMAP = ["/docs/", "/docs/license-link.html", "/docs/license-a.html", "/docs/jsonld.html"]
MORE_SITEMAP = ["/docs/dc-meta.html", "/docs/link-header.html", "/docs/no-license.html", "/docs/paper.html",
                "/docs/gone.html", "/docs/private/secret.html", "/docs/table.csv"]


class SiteServer(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.pages = make_pages()
        self.crawl_delay: float | None = None
        self.sitemap_lastmod = {"/sitemaps/pages.xml": "2024-03-01", "/sitemaps/more.xml.gz": "2024-05-01"}
        for path, handler in (("/robots.txt", self._robots), ("/sitemap_index.xml", self._index),
                              ("/sitemaps/pages.xml", self._pages_sitemap),
                              ("/sitemaps/more.xml.gz", self._more_sitemap), ("/docs/redirect", self._redirect),
                              ("/image.png", self._png), ("/{path:.*}", self._page)):
            self.app.router.add_get(path, handler)
        self.docs = self.sitemap = self.urlset = ""

    def started(self) -> None:
        self.docs, self.sitemap = self.url + "/docs/", self.url + "/sitemap_index.xml"
        self.urlset = self.url + "/sitemaps/pages.xml"

    def touch(self, path: str, lastmod: str) -> None:
        """Give page ``path`` (and the sitemap listing it) a new lastmod."""
        self.pages[path].lastmod = lastmod
        listing = "/sitemaps/pages.xml" if path in PAGES_SITEMAP else "/sitemaps/more.xml.gz"
        self.sitemap_lastmod[listing] = max(self.sitemap_lastmod[listing], lastmod)

    def fetched(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path == path)

    async def _robots(self, request: web.Request) -> web.Response:
        delay = f"Crawl-delay: {self.crawl_delay}\n" if self.crawl_delay is not None else ""
        return web.Response(text=f"User-agent: *\nDisallow: /docs/private/\n{delay}"
                                 f"Sitemap: {self.sitemap}\n")

    async def _index(self, request: web.Request) -> web.Response:
        entries = "".join(f"<sitemap><loc>{self.url}{p}</loc><lastmod>{m}</lastmod></sitemap>"
                          for p, m in self.sitemap_lastmod.items())
        return web.Response(body=_xml(f"<sitemapindex {_NS}>{entries}</sitemapindex>"),
                            content_type="application/xml")

    def _urlset(self, paths: list[str]) -> bytes:
        entries = []
        for p in paths:
            page = self.pages.get(p)
            lastmod = f"<lastmod>{page.lastmod}</lastmod>" if page and page.lastmod else ""
            entries.append(f"<url><loc>{self.url}{p}</loc>{lastmod}<changefreq>monthly</changefreq></url>")
        return _xml(f"<urlset {_NS}>{''.join(entries)}</urlset>")

    async def _pages_sitemap(self, request: web.Request) -> web.Response:
        return web.Response(body=self._urlset(PAGES_SITEMAP), content_type="application/xml")

    async def _more_sitemap(self, request: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(self._urlset(MORE_SITEMAP)), content_type="application/x-gzip")

    async def _redirect(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/docs/license-link.html")

    async def _png(self, request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    async def _page(self, request: web.Request) -> web.Response:
        page = self.pages.get(request.path)
        if page is None:
            raise web.HTTPNotFound()
        modified = datetime.fromisoformat(page.lastmod).replace(tzinfo=timezone.utc) if page.lastmod else None
        return self.static(request, page.body, page.content_type, modified=modified, headers=page.headers)


_NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def _xml(text: str) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + text.encode()


@pytest.fixture
async def site_server() -> AsyncIterator[SiteServer]:
    async with running(SiteServer()) as server:
        yield server
