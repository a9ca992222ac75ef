"""A local OAI-PMH 2.0 repository (a real aiohttp server on 127.0.0.1, port 0) for tests.

It follows the OAI-PMH 2.0 specification (http://www.openarchives.org/OAI/openarchivesprotocol.html):
the six verbs' arguments are checked the way the spec says, errors are ``<error code="...">``
elements with HTTP 200, ``ListRecords`` pages carry real ``resumptionToken`` elements with
``completeListSize``, ``cursor`` and ``expirationDate``, and flow control is a ``503`` with a
``Retry-After`` header (what arXiv does).

Fixture (import it into a conftest: ``from tests.servers.oai import oai_server``):

``oai_server`` -> ``OAIServer`` started with 40 generated records, 10 per page.
    ``.url``              the base URL (``http://127.0.0.1:PORT/oai``)
    ``.root``             ``http://127.0.0.1:PORT``
    ``.records``          the ``FakeRecord`` list (edit a record's ``datestamp``/``deleted`` to
                          simulate changes; ``touch(i)`` does it with the current time)
    ``.requests``         every request as ``Seen(path, query, monotonic time)``
    ``.page_size``        records per ``ListRecords`` page
    ``.retry_after``      when set (seconds), the first request of every page answers 503
    ``.granularity``      ``"YYYY-MM-DDThh:mm:ssZ"`` (default) or ``"YYYY-MM-DD"``
    ``.formats``          metadata prefixes offered (``oai_dc`` and ``oai_qdc``)
    ``.supports_sets``    False answers ``noSetHierarchy``
    ``expire_tokens()``   makes every issued resumption token answer ``badResumptionToken``

Records cycle through ten shapes (``FakeRecord.shape``), all in set ``all``; even ones also in
``physics``, odd ones in ``math``:
    0 file        dc:identifier is a PDF URL; dc:rights a CC BY 4.0 URL
    1 dspace      DSpace-like landing page with ``citation_pdf_url`` to a ``/bitstream/`` file and
                  ``<link rel="license">`` CC BY-SA; dc:rights ``info:eu-repo/semantics/openAccess``
    2 ojs         OJS-like landing page with an ``/article/download/`` link; dc:rights CC BY-NC
    3 alternate   landing page with ``<link rel="alternate" type="application/epub+zip">``;
                  dc:rights "CC BY-ND 4.0"
    4 arxiv       arXiv-like abstract page with ``citation_pdf_url``; arXiv's non-exclusive licence
    5 openaccess  a ``.txt`` file in dc:relation; dc:rights only ``info:eu-repo/semantics/openAccess``
    6 deleted     header ``status="deleted"``, no metadata
    7 csv         a ``.csv`` file in dc:relation, a DOI identifier; CC0 in dc:rights
    8 landing     a landing page without file links, CC BY 4.0 in its ``Link`` header
    9 metadata    no URL at all; CC BY 4.0
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import AsyncIterator

import pytest
from aiohttp import web
from lxml import etree

from tests.servers.local_app import FakeServer, running

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
DC_NS = "http://purl.org/dc/elements/1.1/"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DCTERMS_NS = "http://purl.org/dc/terms/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SECONDS = "YYYY-MM-DDThh:mm:ssZ"
DAY = "YYYY-MM-DD"

CC_BY = "http://creativecommons.org/licenses/by/4.0/"
SHAPES = ("file", "dspace", "ojs", "alternate", "arxiv", "openaccess", "deleted", "csv", "landing",
          "metadata")


@dataclass
class FakeRecord:
    identifier: str
    datestamp: str
    shape: str
    sets: list[str]
    deleted: bool = False
    dc: dict[str, list[str]] = field(default_factory=dict)
    landing_html: str | None = None   # served at the landing page path, if any
    landing_path: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)  # path -> bytes served


def _utc(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_records(root: str, n: int) -> list[FakeRecord]:
    """``n`` records cycling through the ten shapes, datestamps one day apart from 2020-01-01."""
    start = datetime(2020, 1, 1, 12, tzinfo=timezone.utc)
    return [_make(root, i, _utc(start + timedelta(days=i))) for i in range(n)]


def _make(root: str, i: int, datestamp: str) -> FakeRecord:
    shape = SHAPES[i % len(SHAPES)]
    rec = FakeRecord(f"oai:fake.example:{i}", datestamp, shape,
                     ["all", "physics" if i % 2 == 0 else "math"], deleted=shape == "deleted")
    rec.dc = {"title": [f"Record {i}: a {shape} record"], "creator": [f"Author {i}", "Coauthor, A."],
              "subject": ["testing", shape], "description": [f"Abstract of record {i}."],
              "date": [datestamp[:10]], "type": ["Text"], "language": ["en"],
              "format": ["application/pdf"]}
    _SHAPERS[shape](rec, root, i)
    return rec


def _file(rec: FakeRecord, root: str, path: str, body: bytes) -> str:
    rec.files[path] = body
    return root + path


def _landing(rec: FakeRecord, root: str, path: str, head: str, body: str = "") -> str:
    rec.landing_path = path
    rec.landing_html = (f"<!doctype html><html lang='en'><head><title>{rec.dc['title'][0]}</title>"
                        f"{head}</head><body><h1>{rec.dc['title'][0]}</h1>{body}</body></html>")
    return root + path


def _shape_file(rec: FakeRecord, root: str, i: int) -> None:
    rec.dc["identifier"] = [_file(rec, root, f"/files/rec-{i}.pdf", _pdf(i))]
    rec.dc["rights"] = [CC_BY]


def _shape_dspace(rec: FakeRecord, root: str, i: int) -> None:
    pdf = _file(rec, root, f"/bitstream/handle/123/{i}/paper.pdf", _pdf(i))
    _file(rec, root, f"/bitstream/handle/123/{i}/license.txt", b"deposit licence")
    head = (f"<meta name='citation_pdf_url' content='{pdf}'>"
            "<link rel='license' href='https://creativecommons.org/licenses/by-sa/4.0/'>")
    body = (f"<a href='/bitstream/handle/123/{i}/paper.pdf?sequence=1'>paper.pdf</a>"
            f"<a href='/bitstream/handle/123/{i}/license.txt'>licence</a>")
    rec.dc["identifier"] = [_landing(rec, root, f"/handle/123/{i}", head, body)]
    rec.dc["rights"] = ["info:eu-repo/semantics/openAccess"]


def _shape_ojs(rec: FakeRecord, root: str, i: int) -> None:
    _file(rec, root, f"/index.php/j/article/download/{i}/{i + 100}", _pdf(i))
    body = (f"<a class='obj_galley_link pdf' href='/index.php/j/article/view/{i}/{i + 100}'>PDF</a>"
            f"<a class='download' href='/index.php/j/article/download/{i}/{i + 100}'>Download</a>")
    rec.dc["identifier"] = [_landing(rec, root, f"/index.php/j/article/view/{i}", "", body)]
    rec.dc["rights"] = ["https://creativecommons.org/licenses/by-nc/4.0/"]


def _shape_alternate(rec: FakeRecord, root: str, i: int) -> None:
    epub = _file(rec, root, f"/files/rec-{i}.epub", b"PK fake epub " + str(i).encode())
    head = (f"<link rel='alternate' type='application/rss+xml' href='/feed.rss'>"
            f"<link rel='alternate' type='application/epub+zip' href='{epub}'>")
    rec.dc["identifier"] = [_landing(rec, root, f"/record/{i}", head)]
    rec.dc["rights"] = ["CC BY-ND 4.0"]


def _shape_arxiv(rec: FakeRecord, root: str, i: int) -> None:
    pdf = _file(rec, root, f"/pdf/{i}", _pdf(i))
    head = f"<meta name='citation_pdf_url' content='{pdf}'>"
    rec.dc["identifier"] = [_landing(rec, root, f"/abs/{i}", head)]
    rec.dc["rights"] = ["http://arxiv.org/licenses/nonexclusive-distrib/1.0/"]


def _shape_openaccess(rec: FakeRecord, root: str, i: int) -> None:
    rec.dc["identifier"] = [f"urn:fake:{i}"]
    rec.dc["relation"] = [_file(rec, root, f"/files/rec-{i}.txt", b"text of record %d" % i)]
    rec.dc["rights"] = ["info:eu-repo/semantics/openAccess"]


def _shape_deleted(rec: FakeRecord, root: str, i: int) -> None:
    rec.dc = {}


def _shape_csv(rec: FakeRecord, root: str, i: int) -> None:
    rec.dc["identifier"] = [f"https://doi.org/10.5555/fake.{i}"]
    rec.dc["relation"] = [_file(rec, root, f"/files/rec-{i}.csv", b"a,b\n1,2\n")]
    rec.dc["rights"] = ["http://creativecommons.org/publicdomain/zero/1.0/"]
    rec.dc["format"] = ["text/csv"]


def _shape_landing(rec: FakeRecord, root: str, i: int) -> None:
    rec.dc["identifier"] = [_landing(rec, root, f"/page/{i}", "", "<p>No file here.</p>")]


def _shape_metadata(rec: FakeRecord, root: str, i: int) -> None:
    rec.dc["rights"] = [CC_BY]
    rec.dc.pop("format")


_SHAPERS = {"file": _shape_file, "dspace": _shape_dspace, "ojs": _shape_ojs,
            "alternate": _shape_alternate, "arxiv": _shape_arxiv, "openaccess": _shape_openaccess,
            "deleted": _shape_deleted, "csv": _shape_csv, "landing": _shape_landing,
            "metadata": _shape_metadata}


def _pdf(i: int) -> bytes:
    return b"%PDF-1.4\n% fake paper " + str(i).encode() + b"\n%%EOF\n"


class OAIError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


_ARGS = {  # verb -> (required, optional, exclusive)
    "Identify": (set(), set(), None),
    "ListMetadataFormats": (set(), {"identifier"}, None),
    "ListSets": (set(), set(), "resumptionToken"),
    "GetRecord": ({"identifier", "metadataPrefix"}, set(), None),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set"}, "resumptionToken"),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set"}, "resumptionToken"),
}


class OAIServer(FakeServer):
    """The repository; see the module docstring for the knobs."""

    def __init__(self, n: int = 40, page_size: int = 10) -> None:
        super().__init__()
        self.n = n
        self.page_size = page_size
        self.retry_after: int | None = None
        self.granularity = SECONDS
        self.formats = ["oai_dc", "oai_qdc"]
        self.supports_sets = True
        self.records: list[FakeRecord] = []
        self.root = ""
        self._tokens: dict[str, tuple[dict[str, str], int]] = {}
        self._throttled: set[str] = set()
        self.app.router.add_route("*", "/oai", self._oai)
        self.app.router.add_get("/{path:.*}", self._static)

    def started(self) -> None:
        self.root, self.url = self.url, self.url + "/oai"
        self.records = make_records(self.root, self.n)

    def expire_tokens(self) -> None:
        self._tokens.clear()

    def touch(self, i: int, *, deleted: bool | None = None) -> FakeRecord:
        """Mark record ``i`` changed now (optionally deleting or undeleting it)."""
        rec = self.records[i]
        rec.datestamp = _utc(datetime.now(timezone.utc))
        if deleted is not None:
            rec.deleted = deleted
        return rec

    def requests_for(self, verb: str) -> list[dict[str, str]]:
        return [r.query for r in self.requests if r.path == "/oai" and r.query.get("verb") == verb]

    async def _static(self, request: web.Request) -> web.StreamResponse:
        for rec in self.records:
            if request.path in rec.files:
                ctype = "application/pdf" if rec.files[request.path].startswith(b"%PDF") else None
                return web.Response(body=rec.files[request.path],
                                    content_type=ctype or "application/octet-stream")
            if request.path == rec.landing_path and rec.landing_html:
                headers = {"Link": f'<{CC_BY}>; rel="license"'} if rec.shape == "landing" else {}
                return web.Response(text=rec.landing_html, content_type="text/html", headers=headers)
        raise web.HTTPNotFound()

    async def _oai(self, request: web.Request) -> web.Response:
        args = dict(request.query)
        if request.method == "POST":
            args.update({k: str(v) for k, v in (await request.post()).items()})
        key = "&".join(f"{k}={args[k]}" for k in sorted(args))
        if self.retry_after is not None and args.get("verb") in ("ListRecords", "ListIdentifiers") \
                and key not in self._throttled:
            self._throttled.add(key)
            return web.Response(status=503, headers={"Retry-After": str(self.retry_after)},
                                text="Retry after the given number of seconds.")
        root = self._envelope(args)
        try:
            root.append(self._dispatch(args))
        except OAIError as exc:
            err = etree.SubElement(root, f"{{{OAI_NS}}}error", code=exc.code)
            err.text = str(exc)
        body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        return web.Response(body=body, content_type="text/xml", charset="utf-8")

    def _envelope(self, args: dict[str, str]) -> etree._Element:
        root = etree.Element(f"{{{OAI_NS}}}OAI-PMH", nsmap={None: OAI_NS, "xsi": XSI_NS})
        root.set(f"{{{XSI_NS}}}schemaLocation",
                 f"{OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd")
        etree.SubElement(root, f"{{{OAI_NS}}}responseDate").text = _utc(datetime.now(timezone.utc))
        req = etree.SubElement(root, f"{{{OAI_NS}}}request")
        req.text = self.url
        if args.get("verb") in _ARGS:
            for k, v in args.items():
                req.set(k, v)
        return root

    def _dispatch(self, args: dict[str, str]) -> etree._Element:
        verb = args.get("verb")
        if verb not in _ARGS:
            raise OAIError("badVerb", f"illegal or missing verb: {verb!r}")
        required, optional, exclusive = _ARGS[verb]
        given = set(args) - {"verb"}
        if exclusive and exclusive in given:
            if given != {exclusive}:
                raise OAIError("badArgument", f"{exclusive} is an exclusive argument")
        elif not required <= given or given - required - optional:
            raise OAIError("badArgument", f"arguments for {verb}: {sorted(given)}")
        return getattr(self, f"_{verb}")(args)

    def _Identify(self, args: dict[str, str]) -> etree._Element:
        el = etree.Element(f"{{{OAI_NS}}}Identify")
        earliest = min((r.datestamp for r in self.records), default="2020-01-01T00:00:00Z")
        for tag, text in (("repositoryName", "Fake Repository"), ("baseURL", self.url),
                          ("protocolVersion", "2.0"), ("adminEmail", "admin@fake.example"),
                          ("earliestDatestamp", self._stamp(earliest)), ("deletedRecord", "persistent"),
                          ("granularity", self.granularity)):
            etree.SubElement(el, f"{{{OAI_NS}}}{tag}").text = text
        return el

    def _ListMetadataFormats(self, args: dict[str, str]) -> etree._Element:
        if "identifier" in args:
            self._find(args["identifier"])
        el = etree.Element(f"{{{OAI_NS}}}ListMetadataFormats")
        schemas = {"oai_dc": (OAI_DC_NS, "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"),
                   "oai_qdc": ("http://example.org/qdc/", "http://example.org/qdc.xsd")}
        for prefix in self.formats:
            fmt = etree.SubElement(el, f"{{{OAI_NS}}}metadataFormat")
            etree.SubElement(fmt, f"{{{OAI_NS}}}metadataPrefix").text = prefix
            etree.SubElement(fmt, f"{{{OAI_NS}}}schema").text = schemas[prefix][1]
            etree.SubElement(fmt, f"{{{OAI_NS}}}metadataNamespace").text = schemas[prefix][0]
        return el

    def _ListSets(self, args: dict[str, str]) -> etree._Element:
        if not self.supports_sets:
            raise OAIError("noSetHierarchy", "this repository does not support sets")
        el = etree.Element(f"{{{OAI_NS}}}ListSets")
        for spec, name in (("all", "Everything"), ("physics", "Physics"), ("math", "Mathematics")):
            s = etree.SubElement(el, f"{{{OAI_NS}}}set")
            etree.SubElement(s, f"{{{OAI_NS}}}setSpec").text = spec
            etree.SubElement(s, f"{{{OAI_NS}}}setName").text = name
        return el

    def _GetRecord(self, args: dict[str, str]) -> etree._Element:
        self._check_prefix(args["metadataPrefix"])
        el = etree.Element(f"{{{OAI_NS}}}GetRecord")
        el.append(self._record(self._find(args["identifier"]), args["metadataPrefix"]))
        return el

    def _ListRecords(self, args: dict[str, str]) -> etree._Element:
        return self._list(args, "ListRecords")

    def _ListIdentifiers(self, args: dict[str, str]) -> etree._Element:
        return self._list(args, "ListIdentifiers")

    def _list(self, args: dict[str, str], verb: str) -> etree._Element:
        if "resumptionToken" in args:
            if args["resumptionToken"] not in self._tokens:
                raise OAIError("badResumptionToken", "the resumptionToken is invalid or expired")
            args, cursor = self._tokens.pop(args["resumptionToken"])
        else:
            cursor = 0
        matches = self._select(args)
        el = etree.Element(f"{{{OAI_NS}}}{verb}")
        for rec in matches[cursor:cursor + self.page_size]:
            el.append(self._record(rec, args["metadataPrefix"], header_only=verb == "ListIdentifiers"))
        if cursor + self.page_size < len(matches) or cursor:
            token = etree.SubElement(el, f"{{{OAI_NS}}}resumptionToken",
                                     completeListSize=str(len(matches)), cursor=str(cursor))
            if cursor + self.page_size < len(matches):
                token.text = secrets.token_urlsafe(12)
                token.set("expirationDate", _utc(datetime.now(timezone.utc) + timedelta(hours=1)))
                self._tokens[token.text] = (args, cursor + self.page_size)
        return el

    def _select(self, args: dict[str, str]) -> list[FakeRecord]:
        self._check_prefix(args["metadataPrefix"])
        lo, hi = (self._parse_date(args[k], k) if k in args else None for k in ("from", "until"))
        if "set" in args and not self.supports_sets:
            raise OAIError("noSetHierarchy", "this repository does not support sets")
        out = [r for r in self.records
               if (lo is None or _parse(r.datestamp) >= lo) and (hi is None or _parse(r.datestamp) <= hi)
               and ("set" not in args or args["set"] in r.sets)]
        if not out:
            raise OAIError("noRecordsMatch", "no records match the request")
        return sorted(out, key=lambda r: r.datestamp)

    def _check_prefix(self, prefix: str) -> None:
        if prefix not in self.formats:
            raise OAIError("cannotDisseminateFormat", f"metadata format {prefix!r} is not supported")

    def _parse_date(self, text: str, name: str) -> datetime:
        formats = ["%Y-%m-%d"] + (["%Y-%m-%dT%H:%M:%SZ"] if self.granularity == SECONDS else [])
        for fmt in formats:
            try:
                value = datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
            except ValueError:
                continue
            return value + timedelta(days=1, microseconds=-1) if name == "until" and "T" not in text \
                else value
        raise OAIError("badArgument", f"bad {name} date: {text!r}")

    def _stamp(self, datestamp: str) -> str:
        return datestamp[:10] if self.granularity == DAY else datestamp

    def _find(self, identifier: str) -> FakeRecord:
        for rec in self.records:
            if rec.identifier == identifier:
                return rec
        raise OAIError("idDoesNotExist", f"no record {identifier!r}")

    def _record(self, rec: FakeRecord, prefix: str, header_only: bool = False) -> etree._Element:
        header = etree.Element(f"{{{OAI_NS}}}header")
        if rec.deleted:
            header.set("status", "deleted")
        etree.SubElement(header, f"{{{OAI_NS}}}identifier").text = rec.identifier
        etree.SubElement(header, f"{{{OAI_NS}}}datestamp").text = self._stamp(rec.datestamp)
        for spec in rec.sets:
            etree.SubElement(header, f"{{{OAI_NS}}}setSpec").text = spec
        if header_only:
            return header
        el = etree.Element(f"{{{OAI_NS}}}record")
        el.append(header)
        if not rec.deleted:
            meta = etree.SubElement(el, f"{{{OAI_NS}}}metadata")
            meta.append(_oai_dc(rec) if prefix == "oai_dc" else _qdc(rec))
        return el


def _oai_dc(rec: FakeRecord) -> etree._Element:
    dc = etree.Element(f"{{{OAI_DC_NS}}}dc", nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI_NS})
    dc.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_DC_NS} http://www.openarchives.org/OAI/2.0/oai_dc.xsd")
    for name, values in rec.dc.items():
        for value in values:
            etree.SubElement(dc, f"{{{DC_NS}}}{name}").text = value
    return dc


def _qdc(rec: FakeRecord) -> etree._Element:
    q = etree.Element("{http://example.org/qdc/}qualifieddc",
                      nsmap={"qdc": "http://example.org/qdc/", "dcterms": DCTERMS_NS, "dc": DC_NS})
    renames = {"date": "issued", "rights": "license", "description": "abstract"}
    for name, values in rec.dc.items():
        for value in values:
            ns = DCTERMS_NS if name in renames else DC_NS
            etree.SubElement(q, f"{{{ns}}}{renames.get(name, name)}").text = value
    return q


def _parse(datestamp: str) -> datetime:
    return datetime.strptime(datestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


@pytest.fixture
async def oai_server() -> AsyncIterator[OAIServer]:
    async with running(OAIServer()) as server:
        yield server
