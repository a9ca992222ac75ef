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
