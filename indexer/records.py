"""Plain records the rest of openmirror hands to the index and gets back from it.

These are the shared vocabulary between the crawler (``mirror.pipeline``), the network
(``mirror.node``) and the index: a *document* is what we index, a *content* the exact bytes of one
of its files. They serialise to plain JSON-able dicts (``to_dict``/``from_dict``) so a signed feed
entry can carry a whole document.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class ContentIn:
    """One file of a document: its exact bytes, addressed by sha256 and by CID."""

    sha256: str                      # hex digest of the whole byte stream
    size: int                        # bytes
    cid: str                         # root CID as ``ipfs add`` prints it for ``profile``
    profile: str                     # UnixFS import profile name, e.g. "unixfs-v1-2025"
    media_type: str | None = None
    name: str | None = None          # file name within the document (e.g. CKAN resource name)
    url: str | None = None           # where the bytes were fetched from (final URL)
    text: str | None = None          # extracted text for search (bounded); never in feed entries

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("text")
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ContentIn":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class DocumentIn:
    """Metadata of one document with its licence and provenance."""

    collection: str
    source_id: str                   # identifier within the collection (OAI identifier, URL, ...)
    title: str = ""
    creators: list[str] = field(default_factory=list)
    description: str = ""
    subjects: list[str] = field(default_factory=list)
    language: str | None = None
    date: str | None = None          # ISO 8601 date or year as found ("2021", "2021-03-04")
    type: str | None = None
    source_url: str | None = None    # URL of the file as the source listed it
    landing_url: str | None = None   # human landing page
    license: str | None = None       # SPDX id
    license_url: str | None = None
    license_statement: str | None = None  # the licence exactly as found
    retrieved_at: str | None = None  # ISO 8601 UTC
    http_status: int | None = None
    http_headers: dict[str, str] = field(default_factory=dict)
    raw_record: str | None = None    # the source record as received (XML, JSON line, ...)
    contents: list[ContentIn] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["contents"] = [c.to_dict() for c in self.contents]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DocumentIn":
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw["contents"] = [ContentIn.from_dict(c) for c in d.get("contents") or []]
        return cls(**kw)


@dataclass
class CollectionIn:
    name: str
    source_url: str | None = None
    kind: str | None = None


@dataclass
class Change:
    """What the change hook reports after a committed write."""

    kind: str                        # "stored" | "updated" | "retracted"
    document: DocumentIn
    document_id: int
    origin: str | None = None        # None for local changes; the author key for applied entries


@dataclass
class UpsertResult:
    """What one upsert did: ``stored`` (new), ``updated`` (changed or restored) or ``unchanged``."""

    status: str                      # "stored" | "updated" | "unchanged"
    document_id: int


@dataclass
class ContentOut:
    """One content as the index holds it; ``name``/``url`` are set when read through a document.

    ``cid``, ``size`` and ``profile`` are this node's binding of the sha256: ``verified`` when the
    CID's bytes were found to be exactly these (else the best claim so far, ``indexer.bindings``)."""

    sha256: str
    size: int
    cid: str
    profile: str
    media_type: str | None = None
    name: str | None = None
    url: str | None = None
    verified: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_content_in(self) -> ContentIn:
        return ContentIn.from_dict(self.to_dict())


@dataclass
class DocumentOut:
    """A stored document: every ``DocumentIn`` field plus its id, state and files."""

    id: int
    collection: str
    source_id: str
    title: str
    creators: list[str]
    description: str
    subjects: list[str]
    language: str | None
    date: str | None
    type: str | None
    source_url: str | None
    landing_url: str | None
    license: str | None
    license_url: str | None
    license_statement: str | None
    retrieved_at: str | None
    http_status: int | None
    http_headers: dict[str, str]
    raw_record: str | None
    deleted: bool
    updated_at: str
    private: bool = False            # not published: kept out of the feed and every public face
    contents: list[ContentOut] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_document_in(self) -> DocumentIn:
        """The document as a record again (extracted text is not carried)."""
        return DocumentIn.from_dict(self.to_dict())


@dataclass
class Hit:
    """One search result; ``to_dict`` gives the stable JSON fields of ``openmirror search --json``."""

    cid: str | None
    sha256: str | None
    title: str
    creators: list[str]
    license: str | None
    license_url: str | None
    source_url: str | None
    collection: str
    media_type: str | None
    size: int | None
    date: str | None
    score: float                     # higher is better (negated BM25); 0.0 without query words
    snippet: str
    private: bool = False            # not published (found by a local search only)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SearchQuery:
    """A search: words, "quoted phrases" and ``prefix*`` (3 letters or more) in ``text``, all of
    which must match, plus filters.

    ``license`` is an SPDX id, or a family with a trailing ``*`` (``CC-BY*``); ``after`` (inclusive)
    and ``before`` (exclusive) are ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` compared at the precision
    both dates have; ``lang`` ``en`` also matches ``en-GB``. An empty ``text`` lists the most
    recently updated documents that pass the filters. ``marks`` wrap the matched words in ``snippet``;
    ``offset`` results are passed over before the ``limit`` returned. Private documents (not
    published, ``mirror.publication``) are found only with ``include_private``: every public face
    leaves it off.
    """

    text: str = ""
    license: str | None = None
    collection: str | None = None
    type: str | None = None
    after: str | None = None
    before: str | None = None
    lang: str | None = None
    limit: int = 20
    marks: tuple[str, str] = ("[", "]")
    offset: int = 0                  # results to pass over first (the next page starts at limit)
    include_private: bool = False    # also documents that are not published (a local search)


@dataclass
class RecordState:
    """Where one source record stands in a harvest."""

    collection: str
    source_id: str
    status: str
    datestamp: str | None
    detail: str | None
    updated_at: str


@dataclass
class CollectionStats:
    name: str
    kind: str | None
    source_url: str | None
    documents: int
    bytes: int
    licenses: dict[str, int]         # SPDX id ("" when unknown) -> live documents


@dataclass
class IndexStats:
    documents: int                   # live documents
    retracted: int
    contents: int                    # distinct contents held by live documents
    bytes: int                       # their total size
    collections: list[CollectionStats] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
