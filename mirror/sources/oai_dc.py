"""One OAI-PMH ``<record>`` -> a ``Record``: header, Dublin Core metadata, files and rights.

Dublin Core is read by namespace, not by container, so ``oai_dc`` and the qualified-DC formats
(``qdc``, ``oai_qdc``, ``dcterms``: ``dcterms:abstract``, ``dcterms:issued``, ``dcterms:license``...)
give the same fields. DataCite and OpenAIRE elements (``oai_datacite``, ``oai_openaire``) are read
too and win where they say more (``mirror.sources.oai_datacite``: ORCID iDs, resource types,
licence URLs, file URLs). Other formats (MODS...) keep their raw XML in ``raw_record`` and yield
only what DC elements they contain.

Creators are ``dc:creator``, else ``dc:contributor``. Titles and descriptions lose markup and entity
escapes, double ones too. The date is the date issued (``dcterms:issued``, DataCite ``Issued``), else
the earliest ``dc:date`` (DSpace lists accessioned, available and issued dates in oai_dc), else the
day of the record's datestamp.

Files. A ``dc:identifier`` or ``dc:relation`` URL whose path ends in a file extension (``.pdf``,
``.epub``, ``.csv``...) is a file. Otherwise the first http(s) URL (identifiers before relations) is
a *landing page*: the OAI-PMH source fetches it and looks for the file there. ``dc:format`` media
types become the hint of a file whose URL does not tell its type.

Licence statements are every ``dc:rights`` (and ``dcterms:license``/``accessRights``) value, as
found; the landing page adds its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

from lxml import etree

from mirror.sources.base import FileRef, Metadata, Record
from mirror.sources.files import HTML_TYPES, file_name, file_type, media_type_for_format
from mirror.sources.dates import parse_when
from mirror.sources.oai_datacite import datacite_fields
from mirror.sources.text import plain_text
from mirror.sources.xmlparse import local_name, text_of

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
DC_NAMESPACES = ("http://purl.org/dc/elements/1.1/", "http://purl.org/dc/terms/")
RDF_RESOURCE = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}resource"
MAX_RAW = 256 * 1024   # characters of raw record kept for provenance
_FAR = datetime.max.replace(tzinfo=timezone.utc)

# Qualified DC refinements read as the simple element they refine.
_REFINES = {"abstract": "description", "tableOfContents": "description", "issued": "issued",
            "created": "date", "available": "date", "dateAccepted": "date", "modified": "date",
            "license": "rights", "accessRights": "rights", "alternative": "title",
            "hasFormat": "relation", "isFormatOf": "relation", "hasPart": "relation",
            "isPartOf": "relation", "hasVersion": "relation", "isVersionOf": "relation",
            "references": "relation", "isReferencedBy": "relation", "requires": "relation",
            "bibliographicCitation": "identifier", "extent": "format", "medium": "format"}


@dataclass
class Harvested:
    """A parsed record, and the landing pages to look at when it named no file."""

    record: Record
    landing: list[str] = field(default_factory=list)
    format_hint: str | None = None   # a file media type from dc:format, for a URL that is the file


def oai(tag: str) -> str:
    return f"{{{OAI_NS}}}{tag}"


def parse_record(element: etree._Element) -> Harvested:
    """Read one ``<record>`` (or a bare ``<header>`` from ListIdentifiers)."""
    header = element if local_name(element) == "header" else element.find(oai("header"))
    if header is None:
        raise ValueError("record without a header")
    identifier = text_of(header.find(oai("identifier")))
    if not identifier:
        raise ValueError("record without an identifier")
    datestamp = text_of(header.find(oai("datestamp"))) or None
    raw = etree.tostring(element, encoding="unicode")[:MAX_RAW]
    if header.get("status") == "deleted":
        return Harvested(Record(identifier, Metadata(raw_record=raw), datestamp=datestamp, deleted=True))
    found = element.find(oai("metadata"))
    rich, rich_files = datacite_fields(found)
    dc = _merged(read_dublin_core(found), rich)
    files, landing = _files(dc)
    files = list({f.url: f for f in [*rich_files, *files]}.values())
    metadata = Metadata(title=plain_text(_first(dc, "title") or identifier),
                        creators=tuple(dc.get("creator") or dc.get("contributor") or ()),
                        description="\n\n".join(plain_text(d) for d in dc.get("description", [])),
                        subjects=tuple(dc.get("subject", [])), language=_first(dc, "language"),
                        date=_date(dc) or (datestamp[:10] if datestamp else None), type=_first(dc, "type"),
                        source_url=files[0].url if files else None,
                        landing_url=landing[0] if landing else None, raw_record=raw)
    record = Record(identifier, metadata, tuple(files), tuple(dc.get("rights", [])), datestamp=datestamp)
    return Harvested(record, landing, _format_hint(dc))


def _merged(dc: dict[str, list[str]], rich: dict[str, list[str]]) -> dict[str, list[str]]:
    """DataCite/OpenAIRE fields where they have one, Dublin Core's otherwise; licence statements
    and identifiers from both."""
    merged = dc | rich
    for key in ("rights", "identifier", "relation"):
        merged[key] = list(dict.fromkeys(rich.get(key, []) + dc.get(key, [])))
    return merged


def _date(dc: dict[str, list[str]]) -> str | None:
    """The date issued, else the earliest date (unreadable dates last, in their order)."""
    if dc.get("issued"):
        return dc["issued"][0]
    dates = dc.get("date", [])
    return min(dates, key=lambda d: (parse_when(d) is None, parse_when(d) or _FAR)) if dates else None


def read_dublin_core(metadata: etree._Element | None) -> dict[str, list[str]]:
    """Every DC element under ``metadata`` by simple-DC name, values in document order."""
    out: dict[str, list[str]] = {}
    if metadata is None:
        return out
    for el in metadata.iter(etree.Element):
        qname = etree.QName(el)
        if qname.namespace not in DC_NAMESPACES:
            continue
        name = _REFINES.get(qname.localname, qname.localname)
        for value in ((el.get(RDF_RESOURCE) or "").strip(), text_of(el)):
            if value and value not in out.get(name, []):
                out.setdefault(name, []).append(value)
    return out


def _first(dc: dict[str, list[str]], name: str) -> str | None:
    values = dc.get(name)
    return values[0] if values else None


def _format_hint(dc: dict[str, list[str]]) -> str | None:
    types = (media_type_for_format(f) for f in dc.get("format", []))
    return next((t for t in types if t and t not in HTML_TYPES), None)


def _files(dc: dict[str, list[str]]) -> tuple[list[FileRef], list[str]]:
    files: dict[str, FileRef] = {}
    landing: list[str] = []
    for value in dc.get("identifier", []) + dc.get("relation", []):
        url = value.strip()
        if urlsplit(url).scheme not in ("http", "https"):
            continue
        mtype = file_type(url)
        if mtype:
            files.setdefault(url, FileRef(url, name=file_name(url), media_type=mtype))
        elif url not in landing:
            landing.append(url)
    return list(files.values()), landing

