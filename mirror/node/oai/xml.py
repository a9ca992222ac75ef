"""OAI-PMH 2.0 responses built with lxml: the envelope, errors, Identify, headers and oai_dc.

Every value from the index passes through ``mirror.node.web.xmltext.clean`` and lxml escapes it, so
no metadata can break the XML. A document becomes one record:

    header      identifier (``mirror.node.oai.codec``), datestamp (the index's update time),
                setSpec (its collection), status="deleted" for a retracted document
    oai_dc      title, creator*, subject*, description, date, type, format (media types),
                identifier: for each file whose CID this node has verified (not only claimed
                by an entry) the gateway URL ``{node}/ipfs/{cid}``, ``ipfs://{cid}`` and the
                bare CID; source (the URL the file came from), language,
                relation (the landing page), rights (the licence URL; the SPDX id or the
                statement as found when the licence has no URL)
"""

from __future__ import annotations

import re
from typing import Iterable

from lxml import etree

from indexer.records import DocumentOut
from mirror.licenses import license_url
from mirror.node.web.xmltext import clean

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"
ID_NS = "http://www.openarchives.org/OAI/2.0/oai-identifier"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
ID_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai-identifier.xsd"
GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"
_DOMAIN = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*(\.[a-zA-Z][a-zA-Z0-9-]*)+")
_SCHEMA_LOCATION = f"{{{XSI_NS}}}schemaLocation"

Element = etree._Element


def sub(parent: Element, tag: str, text: str | None = None, ns: str = OAI_NS,
        **attrs: str) -> Element:
    element = etree.SubElement(parent, f"{{{ns}}}{tag}")
    if text is not None:
        element.text = clean(text)
    for name, value in attrs.items():
        element.set(name, clean(value))
    return element


def envelope(response_date: str, base_url: str, args: dict[str, str] | None) -> Element:
    """``<OAI-PMH>`` with responseDate and request; ARGS None leaves out the request's
    attributes (as the protocol asks after badVerb and badArgument)."""
    root = etree.Element(f"{{{OAI_NS}}}OAI-PMH", nsmap={None: OAI_NS, "xsi": XSI_NS})  # type: ignore[dict-item]
    root.set(_SCHEMA_LOCATION, f"{OAI_NS} {OAI_SCHEMA}")
    sub(root, "responseDate", response_date)
    sub(root, "request", base_url, **(args or {}))
    return root


def error(root: Element, code: str, message: str) -> Element:
    sub(root, "error", message, code=code)
    return root


def serialize(root: Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def identify(root: Element, *, name: str, base_url: str, admin_email: str, earliest: str,
             host: str, sample: str) -> None:
    el = sub(root, "Identify")
    for tag, value in (("repositoryName", name), ("baseURL", base_url), ("protocolVersion", "2.0"),
                       ("adminEmail", admin_email), ("earliestDatestamp", earliest),
                       ("deletedRecord", "persistent"), ("granularity", GRANULARITY)):
        sub(el, tag, value)
    if _DOMAIN.fullmatch(host):
        scheme = etree.SubElement(sub(el, "description"), f"{{{ID_NS}}}oai-identifier",
                                  nsmap={None: ID_NS})  # type: ignore[dict-item]
        scheme.set(_SCHEMA_LOCATION, f"{ID_NS} {ID_SCHEMA}")
        for tag, value in (("scheme", "oai"), ("repositoryIdentifier", host),
                           ("delimiter", ":"), ("sampleIdentifier", sample)):
            sub(scheme, tag, value, ns=ID_NS)


def metadata_formats(root: Element) -> None:
    fmt = sub(sub(root, "ListMetadataFormats"), "metadataFormat")
    sub(fmt, "metadataPrefix", "oai_dc")
    sub(fmt, "schema", OAI_DC_SCHEMA)
    sub(fmt, "metadataNamespace", OAI_DC_NS)


def list_sets(root: Element, sets: Iterable[tuple[str, str]]) -> None:
    listing = sub(root, "ListSets")
    for spec, name in sets:
        item = sub(listing, "set")
        sub(item, "setSpec", spec)
        sub(item, "setName", name)


def header(parent: Element, identifier: str, stamp: str, spec: str, deleted: bool) -> Element:
    el = sub(parent, "header", **({"status": "deleted"} if deleted else {}))
    sub(el, "identifier", identifier)
    sub(el, "datestamp", stamp)
    sub(el, "setSpec", spec)
    return el


def record(parent: Element, doc: DocumentOut, identifier: str, stamp: str, spec: str,
           node_url: str) -> None:
    """One ``<record>``: the header, and oai_dc metadata unless the document was retracted."""
    el = sub(parent, "record")
    header(el, identifier, stamp, spec, doc.deleted)
    if not doc.deleted:
        dublin_core(sub(el, "metadata"), doc, node_url)


def dublin_core(parent: Element, doc: DocumentOut, node_url: str) -> Element:
    dc = etree.SubElement(parent, f"{{{OAI_DC_NS}}}dc",
                          nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI_NS})
    dc.set(_SCHEMA_LOCATION, f"{OAI_DC_NS} {OAI_DC_SCHEMA}")
    files = [(f"{node_url}/ipfs/{c.cid}", f"ipfs://{c.cid}", c.cid) for c in doc.contents
             if c.verified]                 # a CID only claimed (not yet checked here) is not linked
    rights = (doc.license_url or license_url(doc.license) or doc.license
              or doc.license_statement)
    values: list[tuple[str, Iterable[str | None]]] = [
        ("title", [doc.title]), ("creator", doc.creators), ("subject", doc.subjects),
        ("description", [doc.description]), ("date", [doc.date]), ("type", [doc.type]),
        ("format", dict.fromkeys(c.media_type for c in doc.contents)),
        ("identifier", [i for triple in files for i in triple]),
        ("source", [doc.source_url]), ("language", [doc.language]),
        ("relation", [doc.landing_url if doc.landing_url != doc.source_url else None]),
        ("rights", [rights])]
    for tag, texts in values:
        for text in texts:
            if text:
                sub(dc, tag, text, ns=DC_NS)
    return dc


def resumption_token(parent: Element, token: str | None, total: int, cursor: int) -> None:
    """The token of the next page (None: this was the last page of a paged list)."""
    sub(parent, "resumptionToken", token or "", completeListSize=str(total), cursor=str(cursor))
