"""A local OAI-PMH 2.0 repository (a real aiohttp server on 127.0.0.1, port 0) for tests.

It follows the OAI-PMH 2.0 specification (http://www.openarchives.org/OAI/openarchivesprotocol.html):
the six verbs' arguments are checked the way the spec says, errors are ``<error code="...">``
elements (with HTTP 200 as the spec's examples do, or with ``error_status``: invenio-oaiserver, the
software behind Zenodo and InvenioRDM, answers every OAI-PMH error with 422, Europeana's provider
with 400), ``ListRecords`` pages carry real ``resumptionToken`` elements with ``completeListSize``,
``cursor`` and ``expirationDate`` (tokens may expire after ``token_lifetime`` seconds, as
invenio-oaiserver's do after 60), and flow control is a ``503`` with a ``Retry-After`` header (what
arXiv does).

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
    ``.formats``          metadata prefixes offered (``oai_dc`` and ``oai_qdc``; add ``oai_datacite``
                          as Zenodo writes it, ``oai_openaire`` as DSpace 7 does)
    ``.supports_sets``    False answers ``noSetHierarchy``
    ``expire_tokens()``   makes every issued resumption token answer ``badResumptionToken``
    ``error_status``      the HTTP status of an ``<error>`` answer (200 by default; 422, 400...)
    ``token_lifetime``    seconds a resumption token lives (None: until used); ``token_expired(t)``
    ``order``             ``"datestamp"`` (default: lists sorted by datestamp), ``"identifier"``
                          (datestamps out of order, as EPrints lists by eprint id) or ``"newest"``

Records: see ``tests.servers.oai_records`` (ten shapes: direct files, DSpace/OJS/arXiv-like landing
pages, deleted records, every kind of dc:rights).
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timedelta, timezone
from typing import AsyncIterator

import pytest
from aiohttp import web
from lxml import etree

from tests.servers.local_app import FakeServer, running
from tests.servers.oai_records import (
    CC_BY, OAI_DATACITE_NS, OAI_DC_NS, OAIRE_NS, XSI_NS, FakeRecord, make_records, oai_datacite, oai_dc, oai_openaire,
    qdc, utc,
)

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
SECONDS = "YYYY-MM-DDThh:mm:ssZ"
DAY = "YYYY-MM-DD"


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
        self.error_status = 200
        self.token_lifetime: float | None = None
        self.order = "datestamp"
        self.records: list[FakeRecord] = []
        self.root = ""
        self._tokens: dict[str, tuple[dict[str, str], int, float]] = {}
        self._throttled: set[str] = set()
        self.app.router.add_route("*", "/oai", self._oai)
        self.app.router.add_get("/{path:.*}", self._static)

    def started(self) -> None:
        self.root, self.url = self.url, self.url + "/oai"
        self.records = make_records(self.root, self.n)

    def expire_tokens(self) -> None:
        self._tokens.clear()

    def token_expired(self, token: str) -> bool:
        """True once ``token`` would answer ``badResumptionToken`` (unknown, used, or too old)."""
        issued = self._tokens.get(token)
        return issued is None or (self.token_lifetime is not None
                                  and time.monotonic() - issued[2] > self.token_lifetime)

    def touch(self, i: int, *, deleted: bool | None = None) -> FakeRecord:
        """Mark record ``i`` changed now (optionally deleting or undeleting it)."""
        rec = self.records[i]
        rec.datestamp = utc(datetime.now(timezone.utc))
        if deleted is not None:
            rec.deleted = deleted
        return rec

    def requests_for(self, verb: str) -> list[dict[str, str]]:
        return [r.query for r in self.requests if r.path == "/oai" and r.query.get("verb") == verb]

    async def _static(self, request: web.Request) -> web.StreamResponse:
        for rec in self.records:
            if request.path in rec.files:
                ctype = "application/pdf" if rec.files[request.path].startswith(b"%PDF") else None
                return self.static(request, rec.files[request.path], ctype or "application/octet-stream")
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
        status = 200
        try:
            root.append(self._dispatch(args))
        except OAIError as exc:
            err = etree.SubElement(root, f"{{{OAI_NS}}}error", code=exc.code)
            err.text = str(exc)
            status = self.error_status
        body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        return web.Response(body=body, status=status, content_type="text/xml", charset="utf-8")

    def _envelope(self, args: dict[str, str]) -> etree._Element:
        root = etree.Element(f"{{{OAI_NS}}}OAI-PMH", nsmap={None: OAI_NS, "xsi": XSI_NS})
        root.set(f"{{{XSI_NS}}}schemaLocation",
                 f"{OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd")
        etree.SubElement(root, f"{{{OAI_NS}}}responseDate").text = utc(datetime.now(timezone.utc))
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
                   "oai_qdc": ("http://example.org/qdc/", "http://example.org/qdc.xsd"),
                   "oai_datacite": (OAI_DATACITE_NS, "http://schema.datacite.org/oai/oai-1.1/oai.xsd"),
                   "oai_openaire": (OAIRE_NS, "https://www.openaire.eu/schema/repo-lit/4.0/openaire.xsd")}
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
            if self.token_expired(args["resumptionToken"]):
                raise OAIError("badResumptionToken", "the resumptionToken is invalid or expired")
            args, cursor, _ = self._tokens.pop(args["resumptionToken"])
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
                lifetime = timedelta(seconds=self.token_lifetime or 3600)
                token.set("expirationDate", utc(datetime.now(timezone.utc) + lifetime))
                self._tokens[token.text] = (args, cursor + self.page_size, time.monotonic())
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
        if self.order == "identifier":
            return sorted(out, key=lambda r: r.identifier)
        return sorted(out, key=lambda r: r.datestamp, reverse=self.order == "newest")

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
            meta.append({"oai_dc": oai_dc, "oai_qdc": qdc, "oai_datacite": oai_datacite,
                         "oai_openaire": oai_openaire}[prefix](rec))
        return el


def _parse(datestamp: str) -> datetime:
    return datetime.strptime(datestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


@pytest.fixture
async def oai_server() -> AsyncIterator[OAIServer]:
    async with running(OAIServer()) as server:
        yield server
