"""Read a fetched web page into a record: metadata, licence statements, files and links.

Shared by every source that meets HTML: the sitemap and site sources (each page is a record) and
the OAI-PMH source (a record's landing page, where the file and often the licence are).

Metadata comes from the page's own markup, most specific first: Highwire ``citation_*`` meta tags,
Dublin Core (``DC.*``/``dcterms.*``) meta tags, Open Graph, then ``<title>`` and ``<html lang>``.
Creators are ``citation_author``, ``DC.creator``, ``dcterms.creator`` and ``author``; failing those
the JSON-LD ``author`` of the page's work (``mirror.sources.jsonld``); failing that ``DC.contributor``.
Titles and descriptions lose markup and entity escapes, double ones too (``mirror.sources.text``).
Licence statements come from ``mirror.licenses`` (``rel="license"`` links and anchors, JSON-LD,
Dublin Core meta tags) and from the response's ``Link`` header; they are collected, never judged.

Files a page *declares as its own* are ``<meta name="citation_pdf_url">``, FAIR Signposting
``rel="item"`` links (in the head or the HTTP ``Link`` header, any type: the repository says they
are the item's content, as DSpace 7 and Zenodo do), and ``<link rel="alternate">`` of a document type
(``files.DOCUMENT_TYPES``: PDF, EPUB, text, office documents, CSV; never feeds, edit links, API
answers or metadata exports). Repository software also links its files plainly: DSpace
``/bitstream/`` and OJS ``/article/download/`` anchors (``PageInfo.repository_files``), without
DSpace's thumbnails, extracted texts and licence files. All other anchors are ``PageInfo.links``
for a crawler.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterable, cast
from urllib.parse import urldefrag, urljoin, urlsplit

import lxml.html
from lxml import etree

from mirror import licenses
from mirror.errors import FetchError, TooLarge
from mirror.fetch.results import Page
from mirror.sources.base import FileRef, Metadata, Record
from mirror.fetch.link_header import link_values
from mirror.sources.files import DOCUMENT_TYPES, bare_type, file_name, file_type, is_derived, is_html
from mirror.sources.jsonld import jsonld_authors
from mirror.sources.text import plain_text

if TYPE_CHECKING:
    from mirror.fetch.fetcher import Fetcher
    from mirror.revisit import Revisits

_TITLE = ("citation_title", "dc.title", "dcterms.title", "og:title")
_DESCRIPTION = ("description", "dc.description", "dcterms.abstract", "dcterms.description",
                "citation_abstract", "og:description")
_CREATORS = ("citation_author", "dc.creator", "dcterms.creator", "author")
_CONTRIBUTORS = ("dc.contributor", "dcterms.contributor")
_DATE = ("citation_publication_date", "citation_date", "citation_online_date", "dc.date",
         "dcterms.issued", "dcterms.date", "dcterms.created", "article:published_time")
_LANGUAGE = ("dc.language", "dcterms.language", "citation_language")
_TYPE = ("dc.type", "dcterms.type")
_REPOSITORY_PATHS = ("/bitstream/", "/article/download/")
MAX_LINKS = 5000  # anchors read from one page


@dataclass
class PageInfo:
    """What one HTML page says about itself."""

    title: str = ""
    description: str = ""
    creators: list[str] = field(default_factory=list)
    date: str | None = None
    language: str | None = None
    type: str | None = None
    license_statements: list[str] = field(default_factory=list)
    declared_files: list[FileRef] = field(default_factory=list)
    repository_files: list[FileRef] = field(default_factory=list)
    links: list[str] = field(default_factory=list)   # absolute http(s) URLs, fragments dropped


def header_value(headers: Any, name: str) -> str | None:
    """A response header by case-insensitive name (works on dicts and multidicts)."""
    value = headers.get(name)
    if value is None:
        low = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == low), None)
    return value


def page_type(page: "Page") -> str:
    return bare_type(header_value(page.headers, "Content-Type"))


def clean_url(href: str, base: str) -> str | None:
    """``href`` made absolute against ``base``, fragment dropped; None unless http(s)."""
    try:
        url = urldefrag(urljoin(base, href.strip()))[0]
    except ValueError:
        return None
    return url if urlsplit(url).scheme in ("http", "https") else None


def read_page(page: "Page") -> PageInfo:
    """Metadata, licence statements, files and links of an HTML page."""
    info = PageInfo(license_statements=list(licenses.from_link_header(page.headers, page.final_url)))
    text = page.text()
    try:
        doc = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return info
    base = page.final_url
    for href in cast(list[str], doc.xpath("//base/@href"))[:1]:
        base = urljoin(page.final_url, href)
    meta = _meta(doc)
    title_text = " ".join(cast(list[str], doc.xpath("//title//text()")))
    info.title = plain_text(_first(meta, _TITLE) or " ".join(title_text.split()))
    info.description = plain_text(_first(meta, _DESCRIPTION) or "")
    info.creators = _creators(doc, meta)
    info.date = _first(meta, _DATE)
    info.language = (doc.get("lang") or doc.get("xml:lang") or _first(meta, _LANGUAGE) or None)
    info.type = _first(meta, _TYPE)
    info.license_statements += [s for s in licenses.from_document(doc, base)
                                if s not in info.license_statements]
    info.declared_files = _declared_files(doc, meta, base, page.headers)
    _read_anchors(doc, base, info)
    return info


def _meta(doc: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for el in doc.iter("meta"):
        name = (el.get("name") or el.get("property") or "").strip().lower()
        content = " ".join((el.get("content") or "").split())
        if name and content:
            out.setdefault(name, []).append(content)
    return out


def _creators(doc: Any, meta: dict[str, list[str]]) -> list[str]:
    found = _dedupe(v for name in _CREATORS for v in meta.get(name, []))
    if not found:
        found = jsonld_authors([el.text for el in doc.iter("script") if el.text
                                and (el.get("type") or "").split(";")[0].strip().lower() == "application/ld+json"])
    return found or _dedupe(v for name in _CONTRIBUTORS for v in meta.get(name, []))


def _first(meta: dict[str, list[str]], names: Iterable[str]) -> str | None:
    return next((meta[n][0] for n in names if meta.get(n)), None)


def _dedupe(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _declared_files(doc: Any, meta: dict[str, list[str]], base: str, headers: Any) -> list[FileRef]:
    found: dict[str, FileRef] = {}

    def declare(href: str, media_type: str | None) -> None:
        url = clean_url(href, base)
        if url:
            found.setdefault(url, FileRef(url, name=file_name(url), media_type=media_type or file_type(url)))

    for href in meta.get("citation_pdf_url", []):
        declare(href, "application/pdf")
    for href, params in link_values(headers):
        if "item" in (params.get("rel") or "").lower().split():
            declare(href, bare_type(params.get("type")) or None)
    for el in doc.iter("link"):
        rels, mtype = (el.get("rel") or "").lower().split(), bare_type(el.get("type"))
        if "item" in rels or ("alternate" in rels and mtype in DOCUMENT_TYPES and not _edit_link(el)):
            declare(el.get("href") or "", mtype or None)
    return list(found.values())


def _edit_link(el: Any) -> bool:
    href = (el.get("href") or "").lower()
    return (el.get("title") or "").strip().lower() in ("edit", "edit this page") or "action=edit" in href


def _read_anchors(doc: Any, base: str, info: PageInfo) -> None:
    links: dict[str, None] = {}
    repository: dict[str, FileRef] = {}
    for el in doc.xpath("//a[@href] | //area[@href]")[:MAX_LINKS]:
        url = clean_url(el.get("href"), base)
        if not url:
            continue
        links.setdefault(url)
        path = urlsplit(url).path
        if any(p in path for p in _REPOSITORY_PATHS) and not is_derived(file_name(url)):
            repository.setdefault(url.split("?")[0] if "/bitstream/" in path else url,
                                  FileRef(url, name=file_name(url), media_type=file_type(url)))
    info.links = list(links)
    info.repository_files = list(repository.values())


def page_record(page: "Page", info: PageInfo, *, source_id: str | None = None,
                datestamp: str | None = None) -> Record:
    """The record of an HTML page: the page itself is its first file, then its declared files."""
    metadata = Metadata(title=info.title or file_name(page.final_url) or page.url,
                        description=info.description, creators=tuple(info.creators), date=info.date,
                        language=info.language, type=info.type, source_url=page.url,
                        landing_url=page.final_url)
    files = [FileRef(page.final_url, name=file_name(page.final_url), media_type=page_type(page),
                     page=page)]
    files += [f for f in info.declared_files if f.url != page.final_url]
    return Record(source_id or page.url, metadata, tuple(files), tuple(info.license_statements),
                  datestamp=datestamp)


def file_record(url: str, *, page: "Page | None" = None, statements: Iterable[str] = (),
                landing_url: str | None = None, datestamp: str | None = None,
                title: str | None = None) -> Record:
    """The record of a file met as a link: its licence statements come from where it was linked
    (and its own ``Link`` header when it was fetched already)."""
    found = list(statements)
    if page is not None:
        found += [s for s in licenses.from_link_header(page.headers, page.final_url) if s not in found]
    media = page_type(page) if page is not None else None
    metadata = Metadata(title=title or file_name(url) or url, source_url=url, landing_url=landing_url)
    ref = FileRef(page.final_url if page else url, name=file_name(url),
                  media_type=media or file_type(url), page=page)
    return Record(url, metadata, (ref,), tuple(found), datestamp=datestamp)


def failed_record(url: str, *, error: str | None = None, skipped: str | None = None,
                  datestamp: str | None = None) -> Record:
    """A record the source could not read (``error``) or was told to leave (``skipped``)."""
    metadata = Metadata(title=file_name(url) or url, source_url=url)
    return Record(url, metadata, datestamp=datestamp, error=error, skipped=skipped)


async def fetch_page(fetcher: "Fetcher", url: str, revisits: "Revisits | None" = None) -> "Page | Record":
    """``get_page(url)``, or a failed/skipped record saying why there is no page. With REVISITS a
    page stored before is asked for conditionally; a 304 gives the stored page back (status 304),
    read from the store. A body too large for a page raises ``TooLarge``: the caller makes it a
    file for the pipeline to stream."""
    from mirror.fetch.fetcher import Skipped

    known = await revisits.get(url) if revisits else None
    try:
        got = await fetcher.get_page(url, headers=known.conditions() if known else None)
        if known and revisits and isinstance(got, Page) and got.status == 304:
            got = await revisits.page(known, got) or await fetcher.get_page(url)
    except TooLarge:
        raise
    except FetchError as exc:
        return failed_record(url, error=str(exc))
    if isinstance(got, Skipped):
        return failed_record(url, skipped=got.reason)
    return got


async def read_url(fetcher: "Fetcher", url: str, *, datestamp: str | None = None,
                   inherited: Iterable[str] = (), revisits: "Revisits | None" = None) -> tuple[Record, PageInfo | None]:
    """Fetch ``url`` and make its record: an HTML page's record and info, or a file's record
    carrying the ``inherited`` licence statements of the page that linked it."""
    try:
        got = await fetch_page(fetcher, url, revisits)
    except TooLarge:
        return file_record(url, statements=inherited, datestamp=datestamp), None
    if isinstance(got, Record):
        return replace(got, datestamp=datestamp), None
    if not is_html(header_value(got.headers, "Content-Type")):
        return file_record(url, page=got, statements=inherited, datestamp=datestamp), None
    info = read_page(got)
    return page_record(got, info, source_id=url, datestamp=datestamp), info
