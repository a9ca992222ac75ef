"""A local Internet Archive (a real aiohttp server on 127.0.0.1, port 0) for tests.

The Internet Archive cannot run here, so this fake follows its public APIs exactly, response shapes
included (compared with recorded archive.org answers kept as test data by the ``internetarchive``
client library, and archive.org's API documentation):

- scrape API ``/services/search/v1/scrape?q=QUERY&fields=...&count=N[&cursor=C]`` (QUERY: ``field:value``
  clauses ANDed, and ``addeddate:[DAY TO null]``-style ranges of which one must match; see ``_members``):
  ``{"items": [{"identifier": ...}, ...], "count": n, "total": N, "cursor": "..."}``, items sorted
  by identifier, ``count`` at least 100 (else a 400 ``{"error": ...}``), the cursor an opaque base64
  JSON token, absent on the last page;
- advanced search ``/advancedsearch.php?q=...&fl[]=identifier&rows=R&page=P&output=json``:
  ``{"responseHeader": {...}, "response": {"numFound": N, "start": S, "docs": [...]}}``;
- metadata API ``/metadata/IDENTIFIER``: ``created``, ``d1``, ``d2``, ``dir``, ``files`` (``name``,
  ``source``, ``format``, ``size`` and ``mtime`` as strings, ``md5``, ``sha1``, ``crc32``; derivatives
  name their ``original``), ``files_count``, ``item_last_updated``, ``item_size``, ``metadata``
  (single values as strings, repeated ones as lists), ``server``, ``uniq``, ``workable_servers``;
  an unknown identifier answers ``{}``, a dark item ``{"is_dark": true}``;
- downloads ``/download/IDENTIFIER/NAME``: a 302 to a data node path (``/serve/...``) like
  archive.org's redirect to ``iaNNNNNN.us.archive.org``;
- ``/details/IDENTIFIER``: an HTML page.

Fixture (import it into a conftest: ``from tests.servers.archive import archive_server``):

``archive_server`` -> ``ArchiveServer`` with collection ``fakecoll`` (itself an item of mediatype
collection, as on archive.org) of 230 items (three scrape pages of 100) plus one sub-collection, and
a dark item ``darkitem`` outside it.
    ``.url``       the base URL (``http://127.0.0.1:PORT``); the collection is ``.url + "/details/fakecoll"``
    ``.items``     identifier -> metadata API answer (edit to simulate changes)
    ``.requests``  every request as ``Seen(path, query, monotonic time)``

Items cycle through licences in ``licenseurl``: CC BY 4.0, CC BY-NC 4.0, none (``rights`` "All rights
reserved"), the Public Domain Mark. Each has an original PDF, a derivative ``_djvu.txt``, IA's
``_meta.xml``/``_files.xml``/``_archive.torrent`` and ``__ia_thumb.jpg``; every third also an original
CSV.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any, AsyncIterator

import pytest
from aiohttp import web

from tests.servers.local_app import FakeServer, running

COLLECTION = "fakecoll"
LICENSES = ["https://creativecommons.org/licenses/by/4.0/", "https://creativecommons.org/licenses/by-nc/4.0/",
            None, "http://creativecommons.org/publicdomain/mark/1.0/"]


def _body(identifier: str, name: str) -> bytes:
    text = f"%PDF-1.4 {identifier}/{name}\n" if name.endswith(".pdf") else f"{identifier},{name}\n"
    return text.encode()


def _file(identifier: str, name: str, source: str, fmt: str, **extra: str) -> dict[str, Any]:
    body = _body(identifier, name)
    return {"name": name, "source": source, "format": fmt, "mtime": "1600000000", "size": str(len(body)),
            "md5": hashlib.md5(body).hexdigest(), "crc32": "00000000", "sha1": hashlib.sha1(body).hexdigest(),
            **extra}


def make_item(i: int) -> dict[str, Any]:
    ident = f"item-{i:04d}"
    files = [_file(ident, f"{ident}.pdf", "original", "Text PDF"),
             _file(ident, f"{ident}_djvu.txt", "derivative", "DjVuTXT", original=f"{ident}.pdf"),
             _file(ident, "__ia_thumb.jpg", "original", "Item Tile"),
             _file(ident, f"{ident}_meta.xml", "metadata", "Metadata"),
             _file(ident, f"{ident}_files.xml", "metadata", "Metadata"),
             _file(ident, f"{ident}_archive.torrent", "metadata", "Archive BitTorrent")]
    if i % 3 == 0:
        files.append(_file(ident, "tables/data.csv", "original", "Comma-Separated Values"))
    metadata: dict[str, Any] = {
        "identifier": ident, "title": f"Item {i}", "mediatype": "texts", "collection": [COLLECTION, "community"],
        "creator": [f"Author {i}", "Second Author"] if i % 2 else f"Author {i}",
        "description": f"<p>About <b>item {i}</b>.</p>", "subject": "alpha; beta" if i % 2 else ["alpha", "gamma"],
        "date": f"{1900 + i % 100}", "language": "eng", "publicdate": "2015-03-04 05:06:07",
        "addeddate": "2015-03-04 05:00:00", "uploader": "someone@example.org",
        "scanner": "Internet Archive HTML5 Uploader 1.6.4",
    }
    lic = LICENSES[i % len(LICENSES)]
    if lic:
        metadata["licenseurl"] = lic
    else:
        metadata["rights"] = "All rights reserved"
    return {"created": 1700000000, "d1": "ia800100.us.archive.org", "d2": "ia900100.us.archive.org",
            "dir": f"/1/items/{ident}", "files": files, "files_count": len(files),
            "item_last_updated": 1650000000 + i, "item_size": sum(int(f["size"]) for f in files),
            "metadata": metadata, "server": "ia800100.us.archive.org", "uniq": 1000 + i,
            "workable_servers": ["ia800100.us.archive.org", "ia900100.us.archive.org"]}


def make_collection_item(ident: str) -> dict[str, Any]:
    return {"created": 1700000000, "dir": f"/1/items/{ident}", "files": [], "files_count": 0,
            "is_collection": True, "item_last_updated": 1600000000, "item_size": 0,
            "metadata": {"identifier": ident, "title": "A sub-collection", "mediatype": "collection",
                         "collection": COLLECTION, "publicdate": "2014-01-01 00:00:00"},
            "server": "ia800100.us.archive.org", "uniq": 1, "workable_servers": []}


class ArchiveServer(FakeServer):
    def __init__(self, n: int = 230) -> None:
        super().__init__()
        self.items: dict[str, dict[str, Any]] = {f"item-{i:04d}": make_item(i) for i in range(n)}
        self.items["subcoll"] = make_collection_item("subcoll")
        self.items[COLLECTION] = make_collection_item(COLLECTION)
        self.items[COLLECTION]["metadata"]["collection"] = "community"
        self.dark = {"darkitem"}
        for path, handler in (("/services/search/v1/scrape", self._scrape),
                              ("/advancedsearch.php", self._advanced),
                              ("/metadata/{identifier}", self._metadata),
                              ("/download/{identifier}/{name:.+}", self._download),
                              ("/serve/{identifier}/{name:.+}", self._serve),
                              ("/details/{identifier}", self._details)):
            self.app.router.add_get(path, handler)

    def _members(self, query: str) -> list[str]:
        """Identifiers matching QUERY: ``field:value`` clauses (collection, mediatype, identifier,
        ...) all match, and of the ``field:[FROM TO null]`` date ranges at least one (what
        ``(collection:X) AND (addeddate:[D TO null] OR publicdate:[D TO null])`` asks)."""
        clauses = _CLAUSE.findall(query)
        exact = [(f, v.strip('"')) for f, v in clauses if not v.startswith("[")]
        ranges = [(f, v.strip("[]").split(" TO ")) for f, v in clauses if v.startswith("[")]
        if not exact:
            return []
        return sorted(i for i, item in self.items.items()
                      if all(v in _as_list(item["metadata"].get(f)) for f, v in exact)
                      and (not ranges or any(_within(item["metadata"].get(f), *bounds) for f, bounds in ranges)))

    async def _scrape(self, request: web.Request) -> web.Response:
        q = request.query
        count = q.get("count", "5000")
        if not count.isdigit() or not 100 <= int(count) <= 10000:
            return web.json_response({"error": "count must be between 100 and 10000"}, status=400)
        members = self._members(q.get("q", ""))
        after = json.loads(base64.b64decode(q["cursor"]))[0]["identifier"] if q.get("cursor") else ""
        rest = [m for m in members if m > after]
        page = rest[: int(count)]
        fields = [f for f in q.get("fields", "identifier").split(",") if f]
        body: dict[str, Any] = {"items": [self._doc(m, fields) for m in page], "count": len(page),
                                "total": len(members)}
        if len(rest) > len(page):
            body["cursor"] = base64.b64encode(json.dumps([{"identifier": page[-1]}]).encode()).decode()
        return web.json_response(body)

    async def _advanced(self, request: web.Request) -> web.Response:
        q = request.query
        members = self._members(q.get("q", ""))
        rows, page = int(q.get("rows", "50")), int(q.get("page", "1"))
        start = rows * (page - 1)
        fields = q.getall("fl[]", ["identifier"])
        return web.json_response({
            "responseHeader": {"status": 0, "QTime": 1, "params": {"query": q.get("q", ""), "qin": q.get("q", ""),
                                                                   "fields": ",".join(fields), "wt": "json",
                                                                   "rows": str(rows), "start": start}},
            "response": {"numFound": len(members), "start": start,
                         "docs": [self._doc(m, fields) for m in members[start:start + rows]]}})

    def _doc(self, identifier: str, fields: list[str]) -> dict[str, Any]:
        md = self.items[identifier]["metadata"]
        return {f: md[f] for f in fields if f in md} | {"identifier": identifier}

    async def _metadata(self, request: web.Request) -> web.Response:
        ident = request.match_info["identifier"]
        if ident in self.dark:
            return web.json_response({"is_dark": True})
        return web.json_response(self.items.get(ident, {}))

    async def _download(self, request: web.Request) -> web.Response:
        ident, name = request.match_info["identifier"], request.match_info["name"]
        if ident not in self.items or not any(f["name"] == name for f in self.items[ident]["files"]):
            raise web.HTTPNotFound()
        raise web.HTTPFound(f"/serve/{ident}/{name}")

    async def _serve(self, request: web.Request) -> web.Response:
        ident, name = request.match_info["identifier"], request.match_info["name"]
        return self.static(request, _body(ident, name), "application/pdf" if name.endswith(".pdf") else "text/csv")

    async def _details(self, request: web.Request) -> web.Response:
        ident = request.match_info["identifier"]
        if ident not in self.items:
            raise web.HTTPNotFound()
        return web.Response(text=f"<html><title>{ident}</title></html>", content_type="text/html")


_CLAUSE = re.compile(r'(\w+):(\[[^\]]*\]|"[^"]*"|[^\s()]+)')


def _within(value: Any, low: str, high: str) -> bool:
    """A date field against an inclusive range; ``null`` (or ``*``) leaves a side open."""
    day = str(value or "")[:10]
    return bool(day) and (low in ("null", "*") or day >= low[:10]) and (high in ("null", "*") or day <= high[:10])


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


@pytest.fixture
async def archive_server() -> AsyncIterator[ArchiveServer]:
    async with running(ArchiveServer()) as server:
        yield server
