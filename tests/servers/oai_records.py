"""The records of the local OAI-PMH repository (``tests.servers.oai``), generated in code.

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
Each record's landing page and files are served by the repository's own server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from lxml import etree

DC_NS = "http://purl.org/dc/elements/1.1/"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DCTERMS_NS = "http://purl.org/dc/terms/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
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
    root: str = ""                    # the server's root URL
    license_url: str | None = None    # the licence a richer format states (DSpace: dc.rights.uri)
    orcids: dict[str, str] = field(default_factory=dict)   # creator -> ORCID iD
    landing_html: str | None = None   # served at the landing page path, if any
    landing_path: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)  # path -> bytes served


def utc(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_records(root: str, n: int) -> list[FakeRecord]:
    """``n`` records cycling through the ten shapes, datestamps one day apart from 2020-01-01."""
    start = datetime(2020, 1, 1, 12, tzinfo=timezone.utc)
    return [_make(root, i, utc(start + timedelta(days=i))) for i in range(n)]


def _make(root: str, i: int, datestamp: str) -> FakeRecord:
    shape = SHAPES[i % len(SHAPES)]
    rec = FakeRecord(f"oai:fake.example:{i}", datestamp, shape,
                     ["all", "physics" if i % 2 == 0 else "math"], deleted=shape == "deleted")
    rec.dc = {"title": [f"Record {i}: a {shape} record"], "creator": [f"Author {i}", "Coauthor, A."],
              "subject": ["testing", shape], "description": [f"Abstract of record {i}."],
              "date": [datestamp[:10]], "type": ["Text"], "language": ["en"],
              "format": ["application/pdf"]}
    _SHAPERS[shape](rec, root, i)
    rec.root = root
    rec.orcids = {f"Author {i}": f"0000-0002-1825-{i:04d}"}
    urls = [r for r in rec.dc.get("rights", []) if r.startswith("http")]
    rec.license_url = urls[0] if urls else ("https://creativecommons.org/licenses/by-sa/4.0/"
                                            if shape == "dspace" else None)
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


def oai_dc(rec: FakeRecord) -> etree._Element:
    dc = etree.Element(f"{{{OAI_DC_NS}}}dc", nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI_NS})
    dc.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_DC_NS} http://www.openarchives.org/OAI/2.0/oai_dc.xsd")
    for name, values in rec.dc.items():
        for value in values:
            etree.SubElement(dc, f"{{{DC_NS}}}{name}").text = value
    return dc


def qdc(rec: FakeRecord) -> etree._Element:
    q = etree.Element("{http://example.org/qdc/}qualifieddc",
                      nsmap={"qdc": "http://example.org/qdc/", "dcterms": DCTERMS_NS, "dc": DC_NS})
    renames = {"date": "issued", "rights": "license", "description": "abstract"}
    for name, values in rec.dc.items():
        for value in values:
            ns = DCTERMS_NS if name in renames else DC_NS
            etree.SubElement(q, f"{{{ns}}}{renames.get(name, name)}").text = value
    return q


DATACITE_NS = "http://datacite.org/schema/kernel-4"
OAI_DATACITE_NS = "http://schema.datacite.org/oai/oai-1.1/"
OAIRE_NS = "http://namespace.openaire.eu/schema/oaire/"
COAR_OPEN = "http://purl.org/coar/access_right/c_abf2"


def oai_datacite(rec: FakeRecord) -> etree._Element:
    """The record as Zenodo's ``oai_datacite`` writes it: a DataCite kernel-4 resource in the OAI
    wrapper, the abstract HTML-escaped, creators with ORCID iDs, a DOI, the landing page as URL."""
    wrapper = etree.Element(f"{{{OAI_DATACITE_NS}}}oai_datacite", nsmap={None: OAI_DATACITE_NS})
    etree.SubElement(wrapper, f"{{{OAI_DATACITE_NS}}}schemaVersion").text = "4.3"
    payload = etree.SubElement(wrapper, f"{{{OAI_DATACITE_NS}}}payload")
    res = etree.SubElement(payload, f"{{{DATACITE_NS}}}resource", nsmap={None: DATACITE_NS})
    d = _sub_factory(res, DATACITE_NS)
    d(res, "identifier", f"10.5555/fake.{rec.identifier.rsplit(':', 1)[1]}", identifierType="DOI")
    _creators(d, res, rec)
    d(d(res, "titles"), "title", rec.dc["title"][0])
    d(res, "publicationYear", rec.datestamp[:4])
    d(d(res, "dates"), "date", rec.dc["date"][0], dateType="Issued")
    d(res, "language", "en")
    d(res, "resourceType", "Journal article", resourceTypeGeneral="Text")
    alternates = d(res, "alternateIdentifiers")
    for url in rec.dc.get("identifier", []) + rec.dc.get("relation", []):
        if url.startswith("http"):
            d(alternates, "alternateIdentifier", url, alternateIdentifierType="URL")
    rights = d(res, "rightsList")
    if rec.license_url:
        d(rights, "rights", "Licence", rightsURI=rec.license_url)
    d(rights, "rights", "Open Access", rightsURI="info:eu-repo/semantics/openAccess")
    abstract = f"<p>{rec.dc['description'][0]}</p>"
    d(d(res, "descriptions"), "description", abstract, descriptionType="Abstract")
    return wrapper


def oai_openaire(rec: FakeRecord) -> etree._Element:
    """The record as DSpace 7's ``oai_openaire`` writes it (OpenAIRE Guidelines v4): DataCite
    creators with ORCID iDs, the resource type, a COAR access right, the licence as
    ``oaire:licenseCondition`` and the files as ``oaire:file``."""
    res = etree.Element(f"{{{OAIRE_NS}}}resource", nsmap={"oaire": OAIRE_NS, "datacite": DATACITE_NS, "dc": DC_NS})
    d, o = _sub_factory(res, DATACITE_NS), _sub_factory(res, OAIRE_NS)
    d(d(res, "titles"), "title", rec.dc["title"][0])
    _creators(d, res, rec, url_form=True)
    for url in rec.dc.get("identifier", []):
        if url.startswith("http"):
            d(res, "identifier", url, identifierType="URL")
    d(d(res, "dates"), "date", rec.dc["date"][0], dateType="Issued")
    etree.SubElement(res, f"{{{DC_NS}}}language").text = "eng"
    o(res, "resourceType", "journal article", resourceTypeGeneral="literature",
      uri="http://purl.org/coar/resource_type/c_6501")
    etree.SubElement(res, f"{{{DC_NS}}}description").text = rec.dc["description"][0]
    d(res, "rights", "open access", rightsURI=COAR_OPEN)
    if rec.license_url:
        o(res, "licenseCondition", "Creative Commons licence", uri=rec.license_url, startDate=rec.dc["date"][0])
    for path, body in rec.files.items():
        if not path.endswith("/license.txt"):          # DSpace's deposit licence is not content
            mime = "application/pdf" if body.startswith(b"%PDF") else "application/octet-stream"
            o(res, "file", rec.root + path, mimeType=mime, objectType="fulltext")
    return res


def _sub_factory(parent: etree._Element, ns: str):  # type: ignore[no-untyped-def]
    def sub(under: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
        el = etree.SubElement(under, f"{{{ns}}}{tag}", **attrs)
        el.text = text
        return el
    return sub


def _creators(d, res: etree._Element, rec: FakeRecord, url_form: bool = False) -> None:  # type: ignore[no-untyped-def]
    creators = d(res, "creators")
    for name in rec.dc.get("creator", []):
        creator = d(creators, "creator")
        d(creator, "creatorName", name)
        if name in rec.orcids:
            orcid = ("https://orcid.org/" if url_form else "") + rec.orcids[name]
            d(creator, "nameIdentifier", orcid, nameIdentifierScheme="ORCID", schemeURI="https://orcid.org")

