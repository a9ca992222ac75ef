"""A manifest: one document per line, as JSON Lines (``.jsonl``/``.ndjson``) or CSV with a header.

Fields: ``url`` (an http(s) URL, or a path relative to the manifest) and ``license`` (an SPDX id or
a licence URL; a list in JSON Lines) are required. Optional: ``title``, ``creators`` and
``subjects`` (JSON lists in JSON Lines; ``;``-separated in CSV), ``date``, ``description``,
``language``, ``type``, ``landing_url`` and ``id`` (the source id; default the ``url`` as written,
except an absolute local path or ``file:`` URL, which source ids never are, since peers see them:
the path below the manifest's folder, else a digest of the path and the file's name; a document an
older openmirror keyed on the path is adopted, ``Record.former_id``).

A local path becomes ``FileRef.url`` as an absolute path (a relative path may point anywhere the
manifest's author chose: it is their manifest; ``mirror.sources.admission`` still keeps the node
home and hidden files out). For a manifest fetched over http(s) a relative ``url`` resolves against
the manifest's URL, and only http(s) URLs and relative paths below the manifest's folder are taken:
a ``file:`` or other URL, an absolute path, a path with ``..`` or a backslash makes the line a
record with ``error`` ``refused: ...`` (a remote manifest never names local files).

A line that cannot be read (bad JSON, not an object, no ``url`` or ``license``) is a record with
``error`` naming the line, and the run goes on. The datestamp of a line is a digest of its text, so
an edited line counts as changed.

State key: ``line``, the number of lines (CSV: rows) already yielded; a checkpoint every
``CHECKPOINT_LINES`` lines. The last checkpoint is empty: a rerun reads the whole manifest again.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import os
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Iterator, TextIO
from urllib.parse import unquote, urljoin, urlsplit

from mirror.errors import NotACollection
from mirror.sources.api import get_required
from mirror.sources.base import Checkpoint, FileRef, Metadata, Record, Source, slug, url_slug
from mirror.publication import file_name_of, is_local
from mirror.sources.files import file_name, file_type, local_path

if TYPE_CHECKING:
    from mirror.fetch.fetcher import Fetcher

SUFFIXES = (".jsonl", ".ndjson", ".csv")
CHECKPOINT_LINES = 100
READ_BATCH = 500          # lines parsed per trip to a worker thread
MAX_REMOTE = 64 * 2**20   # bytes of a manifest fetched over http(s)
MAX_FIELD = 1 << 20       # characters of one CSV field
_GENERIC_STEMS = {"manifest", "index", "list", "records", "documents"}

Entry = tuple[int, str, "dict[str, Any] | None", "str | None"]   # line, raw text, fields, error


def read_lines(fh: TextIO, is_csv: bool) -> Iterator[Entry]:
    """``(line number, raw text, fields or None, error or None)`` for each non-blank entry."""
    return _csv_entries(fh) if is_csv else _jsonl_entries(fh)


def _jsonl_entries(fh: TextIO) -> Iterator[Entry]:
    for lineno, raw in enumerate(fh, 1):
        raw = raw.strip()
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError as exc:
            yield lineno, raw, None, f"invalid JSON ({exc.args[0] if exc.args else exc})"
            continue
        if not isinstance(data, dict):
            yield lineno, raw, None, "not a JSON object"
            continue
        yield lineno, raw, data, None


def count_lines(fh: TextIO, is_csv: bool) -> int:
    """The entries ``read_lines`` would yield, counted without parsing them (CSV: rows)."""
    if not is_csv:
        return sum(1 for line in fh if line.strip())
    csv.field_size_limit(MAX_FIELD)
    try:
        return max(0, sum(1 for row in csv.reader(fh) if any(cell.strip() for cell in row)) - 1)
    except csv.Error:
        return 0


def _csv_entries(fh: TextIO) -> Iterator[Entry]:
    csv.field_size_limit(MAX_FIELD)
    reader = csv.reader(fh)
    header = [h.strip().lower() for h in next(reader, [])]
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            raw = json.dumps(row, ensure_ascii=False)
            if len(row) > len(header):
                yield reader.line_num, raw, None, f"{len(row)} cells for {len(header)} columns"
                continue
            yield reader.line_num, raw, {k: v for k, v in zip(header, row) if k and v.strip()}, None
    except csv.Error as exc:
        yield reader.line_num, "", None, f"unreadable CSV ({exc})"


class ManifestSource(Source):
    kind = "manifest"

    def __init__(self, location, options) -> None:
        super().__init__(location, options)
        path = local_path(location)
        self.path = Path(os.path.abspath(path)) if path is not None else None   # no I/O on the loop
        self.is_csv = urlsplit(location).path.lower().endswith(".csv") if path is None \
            else path.suffix.lower() == ".csv"

    @classmethod
    async def detect(cls, location: str, fetcher: "Fetcher | None") -> bool:
        path = local_path(location)
        if path is None:
            return urlsplit(location).path.lower().endswith(SUFFIXES)
        return path.suffix.lower() in SUFFIXES and await asyncio.to_thread(path.is_file)

    def default_collection(self) -> str:
        """A local manifest: its name (its folder's, for a generic name like ``manifest``); a
        remote one: its host, port and path too, as for every URL."""
        if self.path is not None:
            generic = self.path.stem.lower() in _GENERIC_STEMS and self.path.parent.name
            return slug(self.path.parent.name if generic else self.path.stem)
        parts = urlsplit(self.location)
        folder, _, name = parts.path.rpartition("/")
        stem = name.split(".")[0]
        return url_slug(f"{parts.scheme}://{parts.netloc}{folder}", "" if stem.lower() in _GENERIC_STEMS else stem)

    async def harvest(self, fetcher: "Fetcher", state: dict[str, str]) -> AsyncIterator[Record | Checkpoint]:
        done = int(state.get("line") or 0)
        count = 0
        fh = await self._open(fetcher)
        try:
            entries = read_lines(fh, self.is_csv)
            async with self.counting(self._counter(fh), done):
                while batch := await asyncio.to_thread(lambda: list(islice(entries, READ_BATCH))):
                    for lineno, raw, data, error in batch:
                        count += 1
                        if count <= done:
                            continue
                        yield self._record(lineno, raw, data, error)
                        if count % CHECKPOINT_LINES == 0:
                            yield Checkpoint({"line": str(count)})
        finally:
            await asyncio.to_thread(fh.close)
        yield Checkpoint({})

    def _counter(self, fh: TextIO) -> Callable[[], int]:
        """How to count the entries apart from FH: the file opened again, or the fetched text."""
        path, is_csv = self.path, self.is_csv
        if path is None:
            text = fh.getvalue() if isinstance(fh, io.StringIO) else ""
            return lambda: count_lines(io.StringIO(text, newline=""), is_csv)

        def count() -> int:
            with open(path, encoding="utf-8-sig", newline="") as again:
                return count_lines(again, is_csv)
        return count

    async def _open(self, fetcher: "Fetcher") -> TextIO:
        if self.path is not None:
            try:
                return await asyncio.to_thread(open, self.path, encoding="utf-8-sig", newline="")
            except OSError as exc:
                raise NotACollection(f"cannot read manifest {self.path}: {exc.strerror}") from exc
        page = await get_required(fetcher, self.location, max_bytes=MAX_REMOTE)
        return io.StringIO(page.body.decode("utf-8-sig", errors="replace"), newline="")

    def _record(self, lineno: int, raw: str, data: dict[str, Any] | None, error: str | None) -> Record:
        where = f"{self.path.name if self.path else self.location}:{lineno}"
        if data is not None:
            error = error or _missing(data)
        if error is not None or data is None:
            source_id = str((data or {}).get("id") or (data or {}).get("url") or where)
            return Record(source_id, Metadata(raw_record=raw), error=f"line {lineno}: {error}")
        written = str(data["url"]).strip()
        source_id = str(data.get("id") or "").strip() or written
        url, refused = self._resolve(written)
        if refused is not None:
            return Record(source_id, Metadata(raw_record=raw), error=f"line {lineno}: refused: {refused}")
        former = None
        if not data.get("id") and self.path is not None and is_local(written):
            source_id, former = self._local_id(url), written      # source ids are published
        metadata = Metadata(
            title=_text(data.get("title")) or file_name(url) or url,
            creators=self._list(data.get("creators")), description=_text(data.get("description")),
            subjects=self._list(data.get("subjects")), language=_text(data.get("language")) or None,
            date=_text(data.get("date")) or None, type=_text(data.get("type")) or None,
            source_url=url, landing_url=_text(data.get("landing_url")) or None, raw_record=raw)
        license_ = data["license"]
        statements = tuple(str(v) for v in license_) if isinstance(license_, list) else (str(license_),)
        ref = FileRef(url, name=file_name(url), media_type=file_type(url))
        digest = "sha256:" + hashlib.sha256(raw.encode()).hexdigest()[:32]
        return Record(source_id, metadata, (ref,), statements, datestamp=digest, former_id=former)

    def _local_id(self, path: str) -> str:
        """The source id of a line naming a local file by its absolute path (never that path):
        the path below the manifest's folder, else the file's name after a digest of its path."""
        assert self.path is not None
        folder = str(self.path.parent)
        if path.startswith(folder + os.sep):
            return path[len(folder) + 1:].replace(os.sep, "/")
        return f"{hashlib.sha256(path.encode()).hexdigest()[:12]}/{file_name_of(path)}"

    def _resolve(self, url: str) -> tuple[str, str | None]:
        """The file a line names (a URL or an absolute local path), or why it is refused."""
        if urlsplit(url).scheme.lower() in ("http", "https"):
            return url, None
        if self.path is None:
            return remote_reference(self.location, url)
        parts = urlsplit(url)
        if parts.scheme.lower() == "file" and parts.netloc not in ("", "localhost"):
            return url, f"{url!r} names a file on another host"
        path = local_path(url) or Path(url)
        return os.path.normpath(path if path.is_absolute() else self.path.parent / path), None

    def _list(self, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, list):
            return tuple(str(v).strip() for v in value if str(v).strip())
        sep = ";" if self.is_csv else None
        parts = str(value).split(sep) if sep else [str(value)]
        return tuple(p.strip() for p in parts if p.strip())


def remote_reference(base: str, ref: str) -> tuple[str, str | None]:
    """``ref`` from a manifest at the http(s) URL ``base``, resolved against it, or why it is
    refused: only http(s) URLs and relative paths below the manifest's folder."""
    parts = urlsplit(ref)
    what = None
    if parts.scheme:
        what = f"a {parts.scheme}: URL"
    elif "\\" in ref:
        what = "a path with a backslash"
    elif ref.startswith("/") and not ref.startswith("//"):
        what = "an absolute path"
    elif ".." in unquote(parts.path).split("/"):
        what = "a path with '..'"
    if what is not None:
        return ref, (f"{ref!r} is {what}; a remote manifest may name only http(s) URLs and "
                     "relative paths below it")
    url = urljoin(base, ref)
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return ref, f"{ref!r} does not resolve to an http(s) URL"
    return url, None


def _missing(data: dict[str, Any]) -> str | None:
    missing = [k for k in ("url", "license") if not data.get(k) or not str(data[k]).strip()]
    if missing:
        return "missing " + " and ".join(f"'{k}'" for k in missing)
    if not isinstance(data["url"], str):
        return "'url' must be a string"
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value).strip()
