"""The bundle manifest (``manifest.json``): what a bundle holds and the digest of every file.

    {"format": "openmirror-bundle", "version": 1, "collection": "notes",
     "created": "2025-01-02T03:04:05.000000Z", "node_id": "om…",
     "counts": {"documents": 3, "contents": 3, "content_bytes": 4096, "missing": 0,
                "authors": 1, "entries": 5, "forks": 0},
     "content": [{"path": "content.car", "sha256": "<64 hex>", "size": 5120, "roots": 3}],
     "feeds": [{"author": "om…", "seq": 5, "head": "<64 hex>",
                "files": [{"path": "entries/om….omep", "sha256": "…", "size": 900, "first": 1, "last": 5}]}],
     "forks": {"path": "forks.omep", "sha256": "…", "size": 300} | null}

File names are not free: the n-th content file and the n-th entries file of an author have one
name each (``content_name``, ``entries_name``), and a reader refuses a manifest naming anything
else, so a hostile manifest cannot point outside the bundle. ``parse_manifest`` checks every field
strictly; an unknown format or version is ``UsageError`` (not a bundle, exit 2), anything else
malformed is ``IntegrityError`` (a damaged bundle, exit 4).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from mirror.errors import IntegrityError, UsageError
from mirror.feed.identity import is_node_id

FORMAT = "openmirror-bundle"
VERSION = 1
MANIFEST_NAME = "manifest.json"
FORKS_NAME = "forks.omep"
MAX_MANIFEST_BYTES = 64 << 20
MAX_FEEDS = 100_000               # as many feeds as one sync reads from a peer
MAX_CONTENT_FILES = 10_000
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")


def content_name(number: int) -> str:
    """The name of the NUMBER-th (from 0) CAR file: ``content.car``, ``content-2.car``, …"""
    return "content.car" if number == 0 else f"content-{number + 1}.car"


def entries_name(author: str, number: int) -> str:
    """The name of the NUMBER-th (from 0) entries file of AUTHOR: ``entries/<author>.omep``, then
    ``entries/<author>.2.omep``, …"""
    return f"entries/{author}.omep" if number == 0 else f"entries/{author}.{number + 1}.omep"


@dataclass(frozen=True)
class FileRecord:
    """One file of the bundle and its digest."""

    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class ContentFile(FileRecord):
    roots: int = 0


@dataclass(frozen=True)
class EntriesFile(FileRecord):
    first: int = 1
    last: int = 0


@dataclass(frozen=True)
class FeedRecord:
    """One author's chain in the bundle: seq 1 … ``seq``, ending at ``head``."""

    author: str
    seq: int
    head: str
    files: list[EntriesFile]


@dataclass
class Manifest:
    collection: str
    created: str
    node_id: str
    content: list[ContentFile] = field(default_factory=list)
    feeds: list[FeedRecord] = field(default_factory=list)
    forks: FileRecord | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def files(self) -> list[FileRecord]:
        """Every file the manifest names, entries first."""
        listed: list[FileRecord] = [f for feed in self.feeds for f in feed.files]
        if self.forks is not None:
            listed.append(self.forks)
        return listed + list(self.content)

    def to_json(self) -> bytes:
        data = {"format": FORMAT, "version": VERSION, "collection": self.collection,
                "created": self.created, "node_id": self.node_id, "counts": self.counts,
                "content": [asdict(f) for f in self.content],
                "feeds": [asdict(f) for f in self.feeds],
                "forks": None if self.forks is None else asdict(self.forks)}
        return json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8") + b"\n"


def parse_manifest(raw: bytes) -> Manifest:
    """The manifest in RAW, checked; see the module docstring for the errors."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise UsageError("not an openmirror bundle: manifest.json is not JSON") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UsageError("not an openmirror bundle: manifest.json does not name the "
                         f"{FORMAT!r} format")
    if data.get("version") != VERSION:
        raise UsageError(f"unsupported bundle version {str(data.get('version'))[:20]}",
                         hint="this openmirror reads version 1; a newer openmirror wrote it")
    try:
        return _manifest(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise IntegrityError(f"bundle manifest is damaged: {str(exc)[:200]}") from None


def _manifest(data: dict[str, Any]) -> Manifest:
    collection = _text(data["collection"], "collection")
    created = _text(data["created"], "created")
    if not _TS.fullmatch(created):
        raise ValueError("created is not a UTC timestamp")
    if not is_node_id(data["node_id"]):
        raise ValueError("node_id is not a node id")
    counts = data["counts"]
    if not isinstance(counts, dict) or not all(_is_count(v) for v in counts.values()):
        raise ValueError("counts must map names to counts")
    content, feeds = _list(data["content"], MAX_CONTENT_FILES), _list(data["feeds"], MAX_FEEDS)
    manifest = Manifest(collection, created, data["node_id"], counts=counts)
    manifest.content = [_content_file(item, n) for n, item in enumerate(content)]
    manifest.feeds = [_feed(item) for item in feeds]
    if len({f.author for f in manifest.feeds}) != len(manifest.feeds):
        raise ValueError("an author is listed twice")
    if data["forks"] is not None:
        manifest.forks = _file(data["forks"], FORKS_NAME)
    return manifest


def _feed(item: Any) -> FeedRecord:
    author = item["author"]
    if not is_node_id(author):
        raise ValueError("a feed author is not a node id")
    seq, head = item["seq"], item["head"]
    if not _is_count(seq) or seq < 1 or not isinstance(head, str) or not _HEX64.fullmatch(head):
        raise ValueError(f"feed {author[:16]}… has a bad seq or head")
    files, expected = [], 1
    for number, raw in enumerate(_list(item["files"], seq)):
        record = _file(raw, entries_name(author, number))
        first, last = raw["first"], raw["last"]
        if first != expected or not _is_count(last) or last < first:
            raise ValueError(f"{record.path}: entries {first}…{last} do not follow {expected - 1}")
        files.append(EntriesFile(record.path, record.sha256, record.size, first, last))
        expected = last + 1
    if expected != seq + 1:
        raise ValueError(f"the entries files of {author[:16]}… do not end at seq {seq}")
    return FeedRecord(author, seq, head, files)


def _content_file(item: Any, number: int) -> ContentFile:
    record = _file(item, content_name(number))
    if not _is_count(item["roots"]) or item["roots"] < 1:
        raise ValueError(f"{record.path}: roots must be a positive count")
    return ContentFile(record.path, record.sha256, record.size, item["roots"])


def _file(item: Any, expected_path: str) -> FileRecord:
    if not isinstance(item, dict):
        raise ValueError("a file record is not an object")
    if item["path"] != expected_path:
        raise ValueError(f"file {str(item['path'])[:80]!r} should be named {expected_path!r}")
    if not isinstance(item["sha256"], str) or not _HEX64.fullmatch(item["sha256"]):
        raise ValueError(f"{expected_path}: sha256 is not 64 hex digits")
    if not _is_count(item["size"]):
        raise ValueError(f"{expected_path}: size is not a count")
    return FileRecord(expected_path, item["sha256"], item["size"])


def _list(value: Any, limit: int) -> list[Any]:
    if not isinstance(value, list) or len(value) > limit:
        raise ValueError(f"expected a list of at most {limit} items")
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 1000:
        raise ValueError(f"{name} must be a non-empty string")
    return value


def _is_count(value: Any) -> bool:
    return type(value) is int and 0 <= value < 1 << 62
