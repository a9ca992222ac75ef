"""DataCite and OpenAIRE metadata in an OAI-PMH record: what they carry beyond Dublin Core.

``oai_datacite`` and ``datacite`` (Zenodo/InvenioRDM, DataCite's own OAI-PMH service) wrap a DataCite
kernel 3 or 4 ``<resource>``; ``oai_openaire`` (OpenAIRE Guidelines for Literature Repositories v4:
DSpace 7, OJS with the OpenAIRE plugin, EPrints' OpenAIRE export) mixes DataCite elements
(``datacite:creator``...) with Dublin Core ones and its own ``oaire:`` elements. Read by namespace
(the prefix is the repository's choice), they give:

- creators with their ORCID iD (``nameIdentifier nameIdentifierScheme="ORCID"``): ``Name
  (https://orcid.org/0000-...)``; contributors, used when no creator is named;
- titles (not subtitles or translations), abstracts first, subjects, language;
- dates by type: ``Issued`` is the publication date, then ``Created``/``Available``/``Accepted``,
  then ``publicationYear``;
- the resource type (``oaire:resourceType``, else DataCite ``resourceType``, else its general type);
- identifiers as URLs (a DOI as ``https://doi.org/...``), alternate identifiers that are URLs;
- licence statements: ``rights`` (its ``rightsURI`` and text) and ``oaire:licenseCondition`` (its
  ``uri`` and text);
- files: ``oaire:file`` URLs with their ``mimeType``.
"""

from __future__ import annotations

import re
from typing import Callable

from lxml import etree

from mirror.sources.base import FileRef
from mirror.sources.files import file_name, file_type, media_type_for_format
from mirror.sources.xmlparse import text_of

DATACITE_NAMESPACES = ("http://datacite.org/schema/kernel-4", "http://datacite.org/schema/kernel-3")
OAIRE_NS = "http://namespace.openaire.eu/schema/oaire/"
_ORCID = re.compile(r"(\d{4}-\d{4}-\d{4}-\d{3}[\dX])")
_OTHER_TITLES = {"subtitle", "translatedtitle", "alternativetitle"}
_LATER_DATES = {"created", "available", "accepted", "submitted", "copyrighted"}

Fields = dict[str, list[str]]


def datacite_fields(metadata: etree._Element | None) -> tuple[Fields, list[FileRef]]:
    """The fields (by simple-DC name; ``issued`` apart from ``date``) and files DataCite and
    OpenAIRE elements under METADATA give; empty when it has none."""
    out: Fields = {}
    files: dict[str, FileRef] = {}
    if metadata is None:
        return out, []
    for el in metadata.iter(etree.Element):
        qname = etree.QName(el)
        if qname.namespace in DATACITE_NAMESPACES:
            read = _DATACITE.get(qname.localname)
        elif qname.namespace == OAIRE_NS:
            read = _OAIRE.get(qname.localname)
        else:
            continue
        if read is not None:
            for key, value in read(el):
                if value and value not in out.get(key, []):
                    out.setdefault(key, []).append(value)
        if qname.namespace == OAIRE_NS and qname.localname == "file":
            url = text_of(el)
            if url.startswith(("http://", "https://")):
                mtype = media_type_for_format(el.get("mimeType")) or file_type(url)
                files.setdefault(url, FileRef(url, name=file_name(url), media_type=mtype))
    return out, list(files.values())


Reader = Callable[[etree._Element], list[tuple[str, str]]]


def _child(el: etree._Element, name: str) -> str:
    return text_of(el.find(f"{{{etree.QName(el).namespace}}}{name}"))


def _person(key: str, name_tag: str) -> Reader:
    def read(el: etree._Element) -> list[tuple[str, str]]:
        name = _child(el, name_tag)
        ids = [text_of(i) for i in el if etree.QName(i).localname == "nameIdentifier"
               and (i.get("nameIdentifierScheme") or "").upper() == "ORCID"]
        orcid = next((m.group(1) for i in ids if (m := _ORCID.search(i))), None)
        return [(key, f"{name} (https://orcid.org/{orcid})" if name and orcid else name)]
    return read


def _title(el: etree._Element) -> list[tuple[str, str]]:
    return [] if (el.get("titleType") or "").lower() in _OTHER_TITLES else [("title", text_of(el))]


def _description(el: etree._Element) -> list[tuple[str, str]]:
    kind = (el.get("descriptionType") or "abstract").lower()
    return [("description", text_of(el))] if kind in ("abstract", "other") else []


def _date(el: etree._Element) -> list[tuple[str, str]]:
    kind = (el.get("dateType") or "").lower()
    if kind == "issued":
        return [("issued", text_of(el))]
    return [("date", text_of(el))] if kind in _LATER_DATES else []


def _identifier(el: etree._Element) -> list[tuple[str, str]]:
    value, kind = text_of(el), (el.get("identifierType") or el.get("alternateIdentifierType") or "").lower()
    if kind == "doi" and not value.startswith("http"):
        return [("identifier", f"https://doi.org/{value.removeprefix('doi:')}")]
    return [("identifier", value)] if value.startswith(("http://", "https://")) else []


def _rights(el: etree._Element) -> list[tuple[str, str]]:
    return [("rights", (el.get("rightsURI") or el.get("uri") or "").strip()), ("rights", text_of(el))]


def _resource_type(el: etree._Element) -> list[tuple[str, str]]:
    return [("type", text_of(el) or (el.get("resourceTypeGeneral") or "").strip())]


def _simple(key: str) -> Reader:
    return lambda el: [(key, text_of(el))]


_DATACITE: dict[str, Reader] = {
    "creator": _person("creator", "creatorName"), "contributor": _person("contributor", "contributorName"),
    "title": _title, "description": _description, "subject": _simple("subject"), "date": _date,
    "publicationYear": _simple("date"), "language": _simple("language"), "resourceType": _resource_type,
    "identifier": _identifier, "alternateIdentifier": _identifier, "rights": _rights,
}
_OAIRE: dict[str, Reader] = {"licenseCondition": _rights, "resourceType": _resource_type}
