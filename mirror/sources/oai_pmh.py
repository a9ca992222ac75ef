"""OAI-PMH 2.0 repositories: Identify, ListMetadataFormats, ListSets, ListRecords.

A harvest is one ``ListRecords`` list, paged by resumption tokens. After each page the source yields
a ``Checkpoint`` holding the *next* token, so a rerun resumes there. ``completeListSize`` sets
``total``. Records whose header says ``status="deleted"`` come out as ``Record(deleted=True)``.

State keys (all strings):
    resumption_token  the token of the next page of the list in progress
    list_from         the ``from`` of that list ("" for a full harvest)
    started           the ``responseDate`` of the harvest's first page
    last              the latest datestamp listed, while the list came in datestamp order
    from              after a completed list: ``from`` for the next run (``started``, cut to the
                      repository's granularity), so a rerun asks only for records created, changed
                      or deleted since

Protocol errors are read from the body of any answer before its HTTP status is judged
(invenio-oaiserver, behind Zenodo and InvenioRDM, sends them with 422; others with 400 or 404).
``noRecordsMatch`` is an empty list, not an error: an incremental run with nothing new is a clean
run. ``badResumptionToken`` (an expired token) restarts the list without it, from the last
datestamp listed when the list is in datestamp order, else from ``list_from``
(``mirror.sources.oai_listing``); a refused token is never sent twice, and a list that gets no
further between two refusals stops the run with an error. ``cannotDisseminateFormat`` and
``noSetHierarchy`` raise ``NotACollection`` (the request cannot be satisfied as asked); other codes
raise ``FetchError``; both name the code. Flow control (503 + Retry-After) is the fetcher's.

Files: see ``mirror.sources.oai_dc``. A record that names only a landing page gets it fetched (a few
at a time) and its file discovered there (``mirror.sources.pages``): the page's declared files
(``citation_pdf_url``, ``<link rel="alternate">``), else DSpace/OJS download links, else the landing
page itself. A landing URL that answers with a non-HTML body *is* the file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, AsyncIterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lxml import etree

from mirror.errors import BadStatus, FetchError, NotACollection
from mirror.fetch.results import Skipped
from mirror.sources.dates import parse_when
from mirror.sources.base import Checkpoint, Metadata, Record, Source, url_slug
from mirror.sources.oai_dc import Harvested, oai, parse_record
from mirror.sources.oai_listing import Listing
from mirror.sources.ordered import map_ordered
from mirror.sources.pages import read_url
from mirror.sources.xmlparse import parse_xml, text_of
from indexer.clock import second_time

if TYPE_CHECKING:
    from mirror.fetch.fetcher import Fetcher
    from mirror.revisit import Revisits

PROTOCOL_ARGS = {"verb", "metadataPrefix", "set", "from", "until", "resumptionToken", "identifier"}
MAX_RESPONSE = 64 * 2**20     # bytes of one OAI-PMH response
MAX_SET_PAGES = 100           # ListSets pages read when checking --set
LANDING_CONCURRENCY = 4       # landing pages read at once (the fetcher still limits per host)
DAY = "YYYY-MM-DD"


class _ProtocolError(Exception):
    """An ``<error code="...">`` answer; translated by ``OAIPMHSource._call``."""

    def __init__(self, code: str, message: str, response_date: str) -> None:
        super().__init__(f"OAI-PMH error {code}: {message}")
        self.code = code
        self.response_date = response_date


@dataclass
class Repository:
    """What Identify says."""

    name: str
    granularity: str
    earliest: str | None


def base_url(location: str) -> str:
    """The repository's base URL: ``location`` without OAI-PMH protocol arguments."""
    parts = urlsplit(location)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in PROTOCOL_ARGS]
    return urlunsplit(parts._replace(query=urlencode(query), fragment=""))


class OAIPMHSource(Source):
    kind = "oai-pmh"

    def __init__(self, location, options) -> None:
        super().__init__(location, options)
        self.base = base_url(location)
        self.prefix = options.metadata_prefix or "oai_dc"
        self.repository: Repository | None = None
        self.formats: list[str] = []    # metadata prefixes the repository offers
        self.namespaces: dict[str, str] = {}    # and their metadata namespaces

    @classmethod
    async def detect(cls, location: str, fetcher: "Fetcher | None") -> bool:
        if fetcher is None or urlsplit(location).scheme not in ("http", "https"):
            return False
        try:
            root = await _request(fetcher, base_url(location), verb="Identify")
        except (FetchError, _ProtocolError):
            return False
        return root.find(oai("Identify")) is not None

    def default_collection(self) -> str:
        return url_slug(self.base, self.options.set_spec or "")

    async def identify(self, fetcher: "Fetcher") -> Repository:
        """Read Identify; a base URL that does not answer it as OAI-PMH is NotACollection."""
        try:
            root = await self._call(fetcher, verb="Identify")
        except FetchError as exc:
            if exc.retryable:
                raise
            raise NotACollection(f"{self.base} is not an OAI-PMH repository ({exc})",
                                 hint="check the base URL (it answers ?verb=Identify)") from exc
        el = root.find(oai("Identify"))
        if el is None:
            raise NotACollection(f"{self.base}: Identify gave no <Identify> element")
        self.repository = Repository(text_of(el.find(oai("repositoryName"))),
                                     text_of(el.find(oai("granularity"))) or DAY,
                                     text_of(el.find(oai("earliestDatestamp"))) or None)
        return self.repository

    async def list_formats(self, fetcher: "Fetcher") -> list[str]:
        root = await self._call(fetcher, verb="ListMetadataFormats")
        offered = [(text_of(f.find(oai("metadataPrefix"))), text_of(f.find(oai("metadataNamespace"))))
                   for f in root.iter(oai("metadataFormat"))]
        self.formats = [prefix for prefix, _ in offered if prefix]
        self.namespaces = {prefix: namespace for prefix, namespace in offered if prefix}
        return self.formats

    async def list_sets(self, fetcher: "Fetcher") -> list[tuple[str, str]]:
        """``(setSpec, setName)`` of every set, following resumption tokens (bounded)."""
        sets: list[tuple[str, str]] = []
        args = {"verb": "ListSets"}
        for _ in range(MAX_SET_PAGES):
            root = await self._call(fetcher, **args)
            sets += [(text_of(s.find(oai("setSpec"))), text_of(s.find(oai("setName"))))
                     for s in root.iter(oai("set"))]
            token = text_of(root.find(f"{oai('ListSets')}/{oai('resumptionToken')}"))
            if not token:
                break
            args = {"verb": "ListSets", "resumptionToken": token}
        return sets

    async def harvest(self, fetcher: "Fetcher", state: dict[str, str]) -> AsyncIterator[Record | Checkpoint]:
        await self.identify(fetcher)
        await self._check_format(fetcher)
        if self.options.set_spec:
            await self._check_set(fetcher)
        listing = Listing.restore(state)
        if listing.in_progress and state.get("prefix") and self.options.metadata_prefix is None:
            self.prefix = state["prefix"]      # a list goes on in the format it began with
        seen: set[str] = set()
        while True:
            try:
                root = await self._call(fetcher, **self._list_args(listing))
            except _ProtocolError as exc:
                if exc.code == "badResumptionToken" and listing.token:
                    refused = listing.token
                    if not listing.restart():
                        yield Checkpoint(listing.checkpoint() | {"prefix": self.prefix})
                        raise FetchError(_expired(self.base, refused, listing.restarts)) from exc
                    seen.clear()
                    continue
                if exc.code == "noRecordsMatch":
                    listing.started = listing.started or exc.response_date
                    break
                raise
            listing.started = listing.started or _response_date(root)
            element = root.find(oai("ListRecords"))
            if element is None:
                raise FetchError(f"{self.base}: ListRecords answer without <ListRecords>")
            listing.token = self._next_token(element, seen)
            async for record in self._page(fetcher, element, listing):
                yield record
            if not listing.token:
                break
            yield Checkpoint(listing.checkpoint() | {"prefix": self.prefix})
        yield Checkpoint({"from": self._cut(listing.started) if listing.started else listing.list_from})

    def _list_args(self, listing: Listing) -> dict[str, str]:
        if listing.token:
            return {"verb": "ListRecords", "resumptionToken": listing.token}
        args = {"verb": "ListRecords", "metadataPrefix": self.prefix}
        if self.options.set_spec:
            args["set"] = self.options.set_spec
        if listing.list_from:
            args["from"] = self._cut(listing.list_from)
        return args

    def _next_token(self, listing: etree._Element, seen: set[str]) -> str | None:
        el = listing.find(oai("resumptionToken"))
        if el is None:
            return None
        size = el.get("completeListSize")
        if size and size.isdigit():
            self.total = int(size)
        token = (el.text or "").strip() or None
        if token in seen:
            raise FetchError(f"{self.base}: the repository repeated resumption token {token!r}")
        if token:
            seen.add(token)
        return token

    async def _page(self, fetcher: "Fetcher", element: etree._Element, listing: Listing) -> AsyncIterator[Record]:
        parsed: list[Harvested] = []
        for el in element.findall(oai("record")):
            try:
                parsed.append(parse_record(el))
            except ValueError as exc:
                raw = etree.tostring(el, encoding="unicode")[:2000]
                parsed.append(Harvested(_broken(raw, str(exc))))
        listing.listed([h.record.datestamp for h in parsed])
        async for record in map_ordered(lambda h: _resolve(fetcher, h, self.revisits), parsed, LANDING_CONCURRENCY):
            yield record

    async def _check_format(self, fetcher: "Fetcher") -> None:
        try:
            formats = await self.list_formats(fetcher)
        except FetchError as exc:
            if exc.retryable:
                raise
            return   # some repositories answer nothing useful here: try the format anyway
        if self.options.metadata_prefix is None:
            self.prefix = richest_format(self.namespaces) or self.prefix
        if formats and self.prefix not in formats:
            raise NotACollection(f"{self.base} does not offer metadata format {self.prefix!r}",
                                 hint="it offers: " + ", ".join(formats))

    async def _check_set(self, fetcher: "Fetcher") -> None:
        specs = [spec for spec, _ in await self.list_sets(fetcher)]
        if self.options.set_spec not in specs:
            raise NotACollection(f"{self.base} has no set {self.options.set_spec!r}",
                                 hint="sets: " + ", ".join(specs[:20]) + (" ..." if len(specs) > 20 else ""))

    def _cut(self, stamp: str) -> str:
        """A datestamp in the repository's granularity."""
        if self.repository and self.repository.granularity == DAY:
            return stamp[:10]
        return stamp if "T" in stamp else stamp[:10]

    async def _call(self, fetcher: "Fetcher", **args: str) -> etree._Element:
        try:
            return await _request(fetcher, self.base, **args)
        except _ProtocolError as exc:
            if exc.code in ("noRecordsMatch", "badResumptionToken"):
                raise
            if exc.code in ("cannotDisseminateFormat", "noSetHierarchy", "badVerb"):
                raise NotACollection(f"{self.base}: {exc}") from exc
            raise FetchError(f"{self.base}: {exc}") from exc


async def _request(fetcher: "Fetcher", base: str, **args: str) -> etree._Element:
    """One OAI-PMH request; the parsed ``<OAI-PMH>`` root. A protocol error raises
    ``_ProtocolError`` whatever the HTTP status it came with (invenio-oaiserver answers them with
    422, others with 400 or 404): the body is read before the status is judged."""
    sep = "&" if urlsplit(base).query else "?"
    url = base + sep + urlencode(args)
    try:
        page = await fetcher.get_page(url, max_bytes=MAX_RESPONSE, any_status=True)
    except BadStatus as exc:            # retried and failed: a 5xx may still carry an OAI error
        if exc.body is not None:
            _raise_protocol_error(_oai_root(exc.body, url), exc)
        raise
    if isinstance(page, Skipped):
        raise FetchError(f"{url}: disallowed by robots.txt")
    if not 200 <= page.status < 300:
        _raise_protocol_error(_oai_root(page.body, url), None)
        gone = " gone" if page.status in (404, 410) else ""
        raise FetchError(f"{url}:{gone} HTTP {page.status}", status=page.status)
    root = parse_xml(page.body, url)
    if root.tag != oai("OAI-PMH"):
        raise FetchError(f"{url}: not an OAI-PMH response (root element {root.tag})")
    _raise_protocol_error(root, None)
    return root


# Metadata formats that carry more than oai_dc (licence URLs, ORCID iDs, resource types, file URLs),
# by namespace, richest first: OpenAIRE v4 (DSpace 7, OJS), then DataCite (Zenodo, DataCite's OAI).
RICHER_NAMESPACES = ("http://namespace.openaire.eu/schema/oaire/", "http://schema.datacite.org/oai/oai-1.1/",
                     "http://datacite.org/schema/kernel-4", "http://datacite.org/schema/kernel-3")


def richest_format(namespaces: dict[str, str]) -> str | None:
    """The prefix of the richest format offered (see ``RICHER_NAMESPACES``); None for none of them."""
    for wanted in RICHER_NAMESPACES:
        found = next((p for p, ns in namespaces.items() if ns.strip().rstrip("/") == wanted.rstrip("/")), None)
        if found:
            return found
    return None


def _oai_root(body: bytes, url: str) -> etree._Element | None:
    """The ``<OAI-PMH>`` root of an error answer's body; None when it is something else."""
    try:
        root = parse_xml(body, url)
    except FetchError:
        return None
    return root if root.tag == oai("OAI-PMH") else None


def _raise_protocol_error(root: etree._Element | None, cause: Exception | None) -> None:
    error = root.find(oai("error")) if root is not None else None
    if root is not None and error is not None:
        raise _ProtocolError(error.get("code") or "unknown", text_of(error) or "no message",
                             _response_date(root)) from cause


def _expired(base: str, token: str, restarts: int) -> str:
    return (f"{base}: the repository refused resumption token {token!r} (badResumptionToken) "
            f"again after {restarts} restart(s) that got no further; its tokens expire before "
            "they can be used. Rerun to continue from the last datestamp listed")


async def _resolve(fetcher: "Fetcher", item: Harvested, revisits: "Revisits | None") -> Record:
    """Find the file of a record that named only a landing page."""
    record = item.record
    if record.deleted or record.files or not item.landing:
        return record
    page_record, info = await read_url(fetcher, item.landing[0], revisits=revisits)
    if page_record.error or page_record.skipped:
        return replace(record, error=page_record.error and f"landing page: {page_record.error}",
                       skipped=page_record.skipped)
    statements = record.license_statements + tuple(
        s for s in page_record.license_statements if s not in record.license_statements)
    metadata = record.metadata
    if info is None:            # the "landing page" is the file itself
        files = tuple(replace(ref, media_type=ref.media_type or item.format_hint)
                      for ref in page_record.files)
    else:
        metadata = replace(metadata, landing_url=page_record.metadata.landing_url)
        files = tuple(info.declared_files or info.repository_files) or page_record.files
    metadata = replace(metadata, source_url=files[0].url if files else None)
    return replace(record, metadata=metadata, files=files, license_statements=statements)


def _response_date(root: etree._Element) -> str:
    """The response's date as ``YYYY-MM-DDThh:mm:ssZ`` (our clock when it is unreadable)."""
    when = parse_when(text_of(root.find(oai("responseDate"))))
    return second_time(when) if when else second_time()


def _broken(raw: str, message: str) -> Record:
    source_id = "unreadable:" + hashlib.sha1(raw.encode()).hexdigest()[:16]
    return Record(source_id, Metadata(raw_record=raw), error=f"unreadable OAI-PMH record: {message}")
