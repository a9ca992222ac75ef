"""The pages of the node's web face: search, results, a document, a collection, and messages.

Each function returns the whole ``<html>`` tree (see ``mirror.node.web.html.page``). Headings run
in order: the page's single ``<h1>``, then ``<h2>`` sections, then ``<h3>`` per result.
"""

from __future__ import annotations

import mimetypes
import posixpath
from dataclasses import dataclass, fields
from typing import Iterable
from urllib.parse import unquote, urlencode, urlsplit

from indexer.records import CollectionStats, ContentOut, DocumentOut, Hit
from mirror.node.web.html import (Child, Element, collection_href, doc_href, download_href, external_link,
                                  h, license_badge, page, table)
from mirror.units import format_size

MARKS = ("\ue000", "\ue001")          # wrap matched words in snippets; turned into <mark>
# Shown as suggestions in the licence filter; any SPDX id or FAMILY* may be typed.
LICENSE_SUGGESTIONS = ("CC0-1.0", "CC-PDM-1.0", "CC-BY*", "CC-BY-4.0", "CC-BY-SA*", "CC-BY-SA-4.0",
                       "ODbL-1.0", "PDDL-1.0", "ODC-By-1.0", "OGL-UK-3.0", "MIT", "Apache-2.0")
MAX_COLLECTION_OPTIONS = 200          # more collections: the filter becomes a text box
FILTERS = ("license", "collection", "type", "after", "before", "lang")
PROVENANCE_HEADERS = ("content-type", "content-length", "content-disposition", "last-modified",
                      "etag", "link", "x-license", "server")


@dataclass
class SearchParams:
    """The search form's fields as submitted (empty strings when not given)."""

    q: str = ""
    license: str = ""
    collection: str = ""
    type: str = ""
    after: str = ""
    before: str = ""
    lang: str = ""
    page: int = 1

    @property
    def asked(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self) if f.name != "page")

    def href(self, page: int) -> str:
        """The URL of page ``page`` of this search."""
        values = [(f.name, getattr(self, f.name)) for f in fields(self) if f.name != "page"]
        query = [(k, v) for k, v in values if v] + ([("page", str(page))] if page > 1 else [])
        return "/?" + urlencode(query) if query else "/"


# -- search ------------------------------------------------------------------------------------

def search_page(site: str, params: SearchParams, collections: list[str], hits: list[Hit] | None,
                *, more: bool, per_page: int, problem: str | None = None,
                names: dict[str, str] | None = None) -> Element:
    """The search form, then a problem, the results of a search, or the newest documents."""
    heading = f"Search results for “{params.q}”" if params.q else "Search the mirror"
    content: list[Child] = [h("h1", heading), search_form(params, collections)]
    if problem is not None:
        content.append(h("section", h("h2", "Your search could not run"),
                         h("p", problem, role="alert", class_="problem"),
                         h("p", "Use words, \"quoted phrases\" or prefix* terms; dates as YYYY, "
                                "YYYY-MM or YYYY-MM-DD; licences as SPDX ids such as CC-BY-4.0 or "
                                "a family such as CC-BY*.")))
    elif hits is not None:
        content.append(_results(params, hits, more=more, per_page=per_page, names=names or {}))
    title = f"“{params.q}”" if params.q else "Search"
    return page(title, site, content)


def search_form(params: SearchParams, collections: list[str]) -> Element:
    """The search box and its button in one row, then the filters folded in a ``<details>`` (open
    while a filter is set), so the results start on the first screen, on a phone too. Every control
    has its label; hints are tied to their controls with ``aria-describedby``."""
    filters = h("fieldset",
                h("legend", "Filter the results", class_="visually-hidden"),
                _text_field(params, "license", "Licence", "SPDX id, or a family: CC-BY*",
                            list="licences", autocomplete="off", placeholder="CC-BY*"),
                h("datalist", [h("option", value=v) for v in LICENSE_SUGGESTIONS], id="licences"),
                _collection_field(params, collections),
                _text_field(params, "type", "Type", "text, dataset, image…", placeholder="dataset"),
                _text_field(params, "after", "Date from", "YYYY[-MM[-DD]], inclusive", placeholder="YYYY"),
                _text_field(params, "before", "Date before", "YYYY[-MM[-DD]], exclusive",
                            placeholder="YYYY"),
                _text_field(params, "lang", "Language", "a tag: en, pt-BR", placeholder="en"),
                class_="filter-grid")
    active = [name for name in FILTERS if getattr(params, name)]
    summary = h("summary", "Filters", h("span", f" ({len(active)} set)" if active else
                                        " (licence, collection, type, dates, language)", class_="muted"))
    query = h("div", h("label", "Search documents", for_="f-q"),
              h("div", h("input", id="f-q", name="q", type="search", value=params.q or None,
                         aria_describedby="f-q-hint", autofocus=not params.asked),
                h("button", "Search", type="submit"), class_="search-row"),
              h("small", "Words, \"quoted phrases\" and prefix* terms; all must match.",
                id="f-q-hint"),
              class_="field field-q")
    return h("form", query, h("details", summary, filters, open=bool(active), class_="filters"),
             method="get", action="/", role="search", class_="search")


def _text_field(params: SearchParams, name: str, label: str, hint: str | None = None,
                **attrs: object) -> Element:
    hint_id = f"{name}-hint" if hint else None
    return h("div", h("label", label, for_=f"f-{name}"),
             h("input", id=f"f-{name}", name=name, value=getattr(params, name) or None,
               aria_describedby=hint_id, **{"type": "text", **attrs}),
             h("small", hint, id=hint_id) if hint else None, class_="field")


def _collection_field(params: SearchParams, collections: list[str]) -> Element:
    """A select of the collections; a text box when there are too many to list."""
    if len(collections) > MAX_COLLECTION_OPTIONS:
        return _text_field(params, "collection", "Collection")
    options = [h("option", "Any collection", value="")] + [
        h("option", name, value=name, selected=name == params.collection) for name in collections]
    return h("div", h("label", "Collection", for_="f-collection"),
             h("select", options, id="f-collection", name="collection"), class_="field")


def _results(params: SearchParams, hits: list[Hit], *, more: bool, per_page: int,
             names: dict[str, str]) -> Element:
    first = (params.page - 1) * per_page + 1
    if not hits:
        if params.page > 1:
            message = "There are no more results. Go back to the previous page."
        elif params.asked:
            message = ("No documents match this search. Try fewer words, a prefix* term, or "
                       "fewer filters.")
        else:
            message = "This node holds no documents yet."
        return h("section", h("h2", "No results", id="results"), h("p", message, role="status"),
                 _pager(params, more=False), aria_labelledby="results")
    heading = "Results" if params.asked else "Newest documents"
    summary = f"Showing {first}–{first + len(hits) - 1}" + (" of more." if more else ".")
    return h("section", h("h2", heading, id="results"), h("p", summary, role="status"),
             result_list(hits, names, start=first), _pager(params, more=more),
             aria_labelledby="results")


def result_list(hits: Iterable[Hit], names: dict[str, str], start: int = 1) -> Element:
    """Results as an ordered list; NAMES gives the download file name of a CID."""
    return h("ol", [_result(hit, names.get(hit.cid or "")) for hit in hits],
             start=str(start) if start != 1 else None, class_="results")


def _result(hit: Hit, name: str | None) -> Element:
    title = hit.title or "Untitled document"
    heading = h("h3", h("a", title, href=doc_href(hit.cid)) if hit.cid else title)
    facts = h("dl", _fact("Licence", license_badge(hit.license, hit.license_url)),
              _fact("Collection", h("a", hit.collection, href=collection_href(hit.collection))),
              _fact("Size", format_size(hit.size)), _fact("Date", hit.date),
              _fact("Type", hit.media_type), class_="facts-inline")
    download = None
    if hit.cid:
        name = name or filename_for(hit.cid, hit.media_type, hit.source_url)
        download = h("p", h("a", "Download", h("span", f" {title}", class_="visually-hidden"),
                            href=download_href(hit.cid, name), download=name, class_="download"))
    return h("li", h("article", heading,
                     h("p", ", ".join(hit.creators), class_="creators") if hit.creators else None,
                     marked(hit.snippet) if hit.snippet else None, facts, download))


def _fact(label: str, value: Child) -> Element | None:
    """One label and value, kept together on a line that wraps (a ``div`` groups them in the ``dl``)."""
    if value in (None, ""):
        return None
    return h("div", h("dt", label), h("dd", value))


def marked(snippet: str) -> Element:
    """A snippet paragraph with the matched words (between ``MARKS``) in ``<mark>``."""
    parts: list[Child] = []
    for i, chunk in enumerate(snippet.split(MARKS[0])):
        word, sep, rest = chunk.partition(MARKS[1]) if i else ("", "", chunk)
        parts += [h("mark", word) if sep else word, rest]
    return h("p", parts, class_="snippet")


def _pager(params: SearchParams, *, more: bool) -> Element | None:
    links = []
    if params.page > 1:
        links.append(h("li", h("a", "Previous page", href=params.href(params.page - 1), rel="prev")))
    if more:
        links.append(h("li", h("a", "Next page", href=params.href(params.page + 1), rel="next")))
    return h("nav", h("ul", links), aria_label="Pagination", class_="pager") if links else None


def filename_for(cid: str, media_type: str | None, *urls: str | None) -> str:
    """A download name: the last path segment of a URL that has one, else CID plus extension."""
    for url in urls:
        if url:
            try:
                name = unquote(posixpath.basename(urlsplit(url).path))
            except ValueError:
                continue
            name = "".join(c for c in name if c.isprintable() and c not in "/\\")
            if name and name not in (".", ".."):
                return name[:200]
    ext = mimetypes.guess_extension((media_type or "").split(";")[0].strip()) or ""
    return cid + ext


# -- a document --------------------------------------------------------------------------------

def document_page(site: str, cid: str, docs: list[DocumentOut], held: bool,
                  others: int) -> Element:
    """Everything known about the content CID and the document(s) that list it; HELD says this
    node has the whole file, OTHERS counts live copies known on other nodes."""
    doc = docs[0]
    content = next((c for c in doc.contents if cid in (c.cid, c.sha256)), doc.contents[0])
    title = doc.title or "Untitled document"
    parts: list[Child] = [h("h1", title),
                          h("p", ", ".join(doc.creators), class_="creators") if doc.creators else None,
                          h("p", license_badge(doc.license, doc.license_url), " ",
                            h("a", doc.collection, href=collection_href(doc.collection)),
                            class_="lede"),
                          _file_section(content, doc, held, others)]
    if doc.description:
        parts.append(h("section", h("h2", "Description", id="description"),
                       [h("p", para) for para in doc.description.split("\n\n") if para.strip()],
                       aria_labelledby="description"))
    parts += [_metadata_section(doc), _provenance_section(doc, content)]
    if len(doc.contents) > 1:
        parts.append(_files_section(doc))
    if len(docs) > 1:
        parts.append(h("section", h("h2", "Also listed as", id="also"),
                       h("ul", [h("li", f"{d.title or 'Untitled'} (", d.collection, ": ",
                                  d.source_id, ")") for d in docs[1:]]),
                       aria_labelledby="also"))
    return page(title, site, parts)


def copies_text(held: bool, others: int) -> str:
    """``3 (this node and 2 other nodes)``, ``1 (this node)``, ``0``..."""
    plural = "node" if others == 1 else "nodes"
    if held:
        return f"{others + 1} (this node and {others} other {plural})" if others else "1 (this node)"
    if not others:
        return "0 (no live copy is known)"
    return f"{others} (on {'another node' if others == 1 else 'other nodes'})"


def _file_section(content: ContentOut, doc: DocumentOut, held: bool, others: int) -> Element:
    name = content.name or filename_for(content.cid, content.media_type, content.url, doc.source_url)
    rows: list[tuple[str, Child]] = [("CID", h("code", content.cid, class_="cid")),
            ("SHA-256", h("code", content.sha256)),
            ("Profile", content.profile),
            ("Size", f"{format_size(content.size)} ({content.size} bytes)"),
            ("Media type", content.media_type),
            ("File name", content.name),
            ("CID checked here", "yes: its bytes are this SHA-256 and size" if content.verified else
             "not yet: claimed by an entry, not checked against its bytes"),
            ("Held on this node", "yes" if held else "no"),
            ("Known live copies", h("span", copies_text(held, others), class_="copies"))]
    return h("section", h("h2", "File", id="file"),
             h("p", h("a", "Download ", name, href=download_href(content.cid, name), download=name,
                      class_="download button")),
             table(None, rows), aria_labelledby="file")


def _metadata_section(doc: DocumentOut) -> Element:
    rows = [("Creators", "; ".join(doc.creators)),
            ("Subjects", "; ".join(doc.subjects)),
            ("Date", doc.date), ("Type", doc.type), ("Language", doc.language),
            ("Collection", h("a", doc.collection, href=collection_href(doc.collection))),
            ("Identifier in the collection", doc.source_id),
            ("Licence", license_badge(doc.license, doc.license_url)),
            ("Licence URL", external_link(doc.license_url)),
            ("Updated in this index", doc.updated_at)]
    return h("section", h("h2", "Metadata", id="metadata"), table(None, rows),
             aria_labelledby="metadata")


def _provenance_section(doc: DocumentOut, content: ContentOut) -> Element:
    headers = {k.lower(): v for k, v in (doc.http_headers or {}).items()}
    shown = [h("li", h("code", f"{k}: {headers[k]}")) for k in PROVENANCE_HEADERS if k in headers]
    rows = [("Source URL", external_link(doc.source_url)),
            ("Final URL", external_link(content.url)),
            ("Landing page", external_link(doc.landing_url)),
            ("Retrieved", doc.retrieved_at),
            ("HTTP status", None if doc.http_status is None else str(doc.http_status)),
            ("Response headers", h("ul", shown, class_="plain") if shown else None),
            ("Licence statement as found", h("q", doc.license_statement)
             if doc.license_statement else None)]
    return h("section", h("h2", "Provenance", id="provenance"), table(None, rows),
             aria_labelledby="provenance")


def _files_section(doc: DocumentOut) -> Element:
    head = h("tr", [h("th", label, scope="col") for label in ("File", "Size", "Media type", "CID")])
    rows = [h("tr", h("th", h("a", c.name or f"File {i + 1}", href=doc_href(c.cid)), scope="row"),
              h("td", format_size(c.size)), h("td", c.media_type or ""),
              h("td", h("code", c.cid))) for i, c in enumerate(doc.contents)]
    return h("section", h("h2", "All files of this document", id="files"),
             h("table", h("thead", head), h("tbody", rows), class_="files"),
             aria_labelledby="files")


# -- a collection ------------------------------------------------------------------------------

def collection_page(site: str, summary: CollectionStats, retracted: int, recent: list[Hit],
                    names: dict[str, str]) -> Element:
    name = summary.name
    facts = table(None, [("Documents", str(summary.documents)), ("Retracted", str(retracted)),
                         ("Total size", format_size(summary.bytes)), ("Kind", summary.kind),
                         ("Source", external_link(summary.source_url))])
    head = h("tr", h("th", "Licence", scope="col"), h("th", "Documents", scope="col"))
    rows = [h("tr", h("th", license_badge(spdx or None), scope="row"), h("td", str(count)))
            for spdx, count in sorted(summary.licenses.items(), key=lambda kv: (-kv[1], kv[0]))]
    licences = h("section", h("h2", "Licences", id="licences-h"),
                 h("table", h("thead", head), h("tbody", rows), class_="licences")
                 if rows else h("p", "No live documents."), aria_labelledby="licences-h")
    search = SearchParams(collection=name).href(1)
    recent_part = result_list(recent, names) if recent else h("p", "No documents yet.")
    return page(f"Collection {name}", site,
                h("h1", "Collection ", h("span", name, class_="name")), facts,
                h("p", h("a", "Search this collection", href=search)), licences,
                h("section", h("h2", "Recent documents", id="recent"), recent_part,
                  aria_labelledby="recent"))


def collections_page(site: str, collections: list[CollectionStats]) -> Element:
    """Every collection with documents: its name (linked), documents, size and main licences."""
    listed = sorted((c for c in collections if c.documents), key=lambda c: c.name.lower())
    head = h("tr", [h("th", label, scope="col") for label in ("Collection", "Documents", "Size", "Licences")])
    rows = [h("tr", h("th", h("a", c.name, href=collection_href(c.name)), scope="row"),
              h("td", str(c.documents), class_="number"), h("td", format_size(c.bytes), class_="number"),
              h("td", _main_licences(c.licenses))) for c in listed]
    body = (h("div", h("table", h("thead", head), h("tbody", rows), class_="collections"), class_="scroll")
            if rows else h("p", "This node holds no documents yet.", role="status"))
    total = sum(c.documents for c in listed)
    return page("Collections", site, h("h1", "Collections"),
                h("p", f"{len(listed)} collection{'' if len(listed) == 1 else 's'}, {total} documents.",
                  class_="lede") if rows else None, body)


def _main_licences(licenses: dict[str, int], shown: int = 3) -> list[Child]:
    ranked = sorted(licenses.items(), key=lambda kv: (-kv[1], kv[0]))
    badges: list[Child] = []
    for spdx, _count in ranked[:shown]:
        badges += [license_badge(spdx or None), " "]
    if len(ranked) > shown:
        badges.append(h("span", f"and {len(ranked) - shown} more", class_="muted"))
    return badges


# -- messages ----------------------------------------------------------------------------------

def message_page(site: str, title: str, message: str, *more: Child) -> Element:
    """A short page for not-found and error answers, with the search box."""
    return page(title, site, h("h1", title), h("p", message, role="alert"), *more,
                h("p", h("a", "Search the mirror", href="/")))
