"""An attacker's origin and an internal service, for the attack tests (real servers on loopback).

The attacker's server (127.0.0.1) serves collections whose manifests, sitemaps, pages, redirects and
API answers point at targets a harvester must not reach: the internal service, which listens on
another loopback address and records every request it gets. In these tests 127.0.0.1 stands in for
the public internet (the home allows it with ``fetch.allowed_networks = ["127.0.0.1/32"]``); the
internal service's address, 127.0.0.2, is still a loopback address, refused like 10.0.0.5 or
169.254.169.254 would be.

Fixtures (import them into a conftest):

``internal_service`` -> ``InternalService`` on 127.0.0.2, port 0
    ``.url``        ``http://127.0.0.2:PORT``; every path answers 200 with ``SECRET`` (a PDF type
                    for ``*.pdf``, text otherwise)
    ``.requests``   every request it got, as ``Seen``
``attacker`` -> ``Attacker`` on 127.0.0.1, port 0; set ``.targets`` (URLs) before a harvest
    /manifest.jsonl      one line per target (CC0, ``id`` ``t0``, ``t1``...)
    /sitemap.xml         a urlset listing every target
    /index.xml           a sitemapindex listing every target as a child sitemap
    /site/               a CC BY page declaring every target as its file (``citation_pdf_url``,
                         ``<link rel="alternate">``)
    /to/{n}              a 302 to target n
    /api/3/action/...    CKAN: ``status_show``; ``package_search`` with one CC BY dataset whose
                         resources are the targets
    /services/search/v1/scrape, /metadata/item, /download/item/f{n}.pdf
                         Internet Archive: one CC0 item whose files' downloads redirect to target n
    /oai?verb=...        OAI-PMH: Identify, ListMetadataFormats (oai_dc), ListRecords with one CC BY record per target (its
                         ``dc:identifier`` is the target: a file or a landing page)
    /robots.txt          404 (everything allowed)
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from xml.sax.saxutils import escape

import pytest
from aiohttp import web

from tests.servers.local_app import FakeServer, running

SECRET = b"internal secret: never leaves the intranet"
CC_BY = "https://creativecommons.org/licenses/by/4.0/"
INTERNAL_HOST = "127.0.0.2"


class InternalService(FakeServer):
    """Answers every path with ``SECRET``; ``requests`` shows whether anything reached it."""

    host = INTERNAL_HOST

    def __init__(self) -> None:
        super().__init__()
        self.app.router.add_route("*", "/{tail:.*}", self._any)

    async def _any(self, request: web.Request) -> web.Response:
        kind = "application/pdf" if request.path.endswith(".pdf") else "text/plain"
        return web.Response(body=SECRET, content_type=kind)


class Attacker(FakeServer):
    """Serves collections that lead to ``targets`` (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []
        r = self.app.router
        r.add_get("/manifest.jsonl", self._manifest)
        r.add_get("/sitemap.xml", self._sitemap)
        r.add_get("/index.xml", self._index)
        r.add_get("/site/", self._page)
        r.add_get("/to/{n}", self._redirect)
        r.add_get("/api/3/action/status_show", self._ckan_status)
        r.add_get("/api/3/action/package_search", self._ckan_search)
        r.add_get("/services/search/v1/scrape", self._ia_scrape)
        r.add_get("/metadata/item", self._ia_item)
        r.add_get("/download/item/f{n}.pdf", self._redirect)
        r.add_get("/oai", self._oai)

    async def _manifest(self, request: web.Request) -> web.Response:
        lines = [json.dumps({"url": t, "license": "CC0-1.0", "id": f"t{i}"}) for i, t in enumerate(self.targets)]
        return web.Response(text="\n".join(lines) + "\n", content_type="application/jsonl")

    async def _sitemap(self, request: web.Request) -> web.Response:
        urls = "".join(f"<url><loc>{escape(t)}</loc></url>" for t in self.targets)
        return _xml(f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>')

    async def _index(self, request: web.Request) -> web.Response:
        maps = "".join(f"<sitemap><loc>{escape(t)}</loc></sitemap>" for t in self.targets)
        return _xml(f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{maps}</sitemapindex>')

    async def _page(self, request: web.Request) -> web.Response:
        files = "".join(f'<meta name="citation_pdf_url" content="{escape(t)}">'
                        f'<link rel="alternate" type="text/csv" href="{escape(t)}?csv">' for t in self.targets)
        html = (f'<html><head><title>Bait</title><link rel="license" href="{CC_BY}">{files}</head>'
                "<body>a page whose files live elsewhere</body></html>")
        return web.Response(text=html, content_type="text/html")

    async def _redirect(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(self.targets[int(request.match_info["n"])])

    async def _ckan_status(self, request: web.Request) -> web.Response:
        return web.json_response({"success": True, "result": {"ckan_version": "2.10.0"}})

    async def _ckan_search(self, request: web.Request) -> web.Response:
        dataset = {"id": "bait", "name": "bait", "title": "Bait", "license_id": "cc-by",
                   "license_url": CC_BY, "metadata_modified": "2024-01-01T00:00:00",
                   "resources": [{"url": t, "name": f"r{i}", "format": "PDF"} for i, t in enumerate(self.targets)]}
        start = int(request.query.get("start", "0"))
        results = [dataset] if start == 0 and request.query.get("rows") != "0" else []
        return web.json_response({"success": True, "result": {"count": 1, "results": results}})

    async def _ia_scrape(self, request: web.Request) -> web.Response:
        return web.json_response({"items": [{"identifier": "item"}], "count": 1, "total": 1})

    async def _ia_item(self, request: web.Request) -> web.Response:
        files = [{"name": f"f{i}.pdf", "source": "original", "format": "Text PDF"} for i in range(len(self.targets))]
        return web.json_response({"metadata": {"identifier": "item", "title": "Bait", "mediatype": "texts",
                                               "licenseurl": "https://creativecommons.org/publicdomain/zero/1.0/"},
                                  "files": files, "item_last_updated": 1700000000})

    async def _oai(self, request: web.Request) -> web.Response:
        verb = request.query.get("verb")
        if verb == "Identify":
            body = ("<Identify><repositoryName>Bait</repositoryName><baseURL>x</baseURL>"
                    "<protocolVersion>2.0</protocolVersion><earliestDatestamp>2020-01-01</earliestDatestamp>"
                    "<deletedRecord>no</deletedRecord><granularity>YYYY-MM-DD</granularity></Identify>")
        elif verb == "ListMetadataFormats":
            body = ("<ListMetadataFormats><metadataFormat><metadataPrefix>oai_dc</metadataPrefix>"
                    "</metadataFormat></ListMetadataFormats>")
        elif verb == "ListRecords":
            body = "<ListRecords>" + "".join(_oai_record(i, t) for i, t in enumerate(self.targets)) + "</ListRecords>"
        else:
            body = '<error code="badVerb">no</error>'
        return _xml('<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
                    f"<responseDate>2024-01-01T00:00:00Z</responseDate><request>x</request>{body}</OAI-PMH>")


def _oai_record(i: int, target: str) -> str:
    return (f"<record><header><identifier>oai:bait:{i}</identifier><datestamp>2024-01-01</datestamp>"
            '</header><metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
            f'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Bait {i}</dc:title>'
            f"<dc:identifier>{escape(target)}</dc:identifier><dc:rights>{CC_BY}</dc:rights>"
            "</oai_dc:dc></metadata></record>")


def _xml(text: str) -> web.Response:
    return web.Response(text='<?xml version="1.0" encoding="UTF-8"?>' + text, content_type="text/xml")


@pytest.fixture
async def internal_service() -> AsyncIterator[InternalService]:
    async with running(InternalService()) as server:
        yield server


@pytest.fixture
async def attacker() -> AsyncIterator[Attacker]:
    async with running(Attacker()) as server:
        yield server
