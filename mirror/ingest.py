"""Turn a document's files into stored content and one index write.

The one path every byte takes into a home, whether it comes from a harvest (``pipeline``) or from
``openmirror add``: obtain the bytes (already fetched page, local file, a small fetched body held
in memory, or a larger one imported as it arrives, ``mirror.body_import``), import them into the
blockstore as a UnixFS DAG (CID under the chosen profile, sha256 of the whole stream beside it,
blocks staged until the caller commits them), extract bounded text for search; the caller then
writes the document (the harvest through ``mirror.batch.GroupCommit``, after its blocks). Staging
files are always removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import logging
import mimetypes
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, AsyncIterator, Sequence

from indexer.index import Index
from indexer.records import ContentIn, DocumentIn, UpsertResult
from mirror import licenses
from mirror.body_import import BodyImport, Imported
from mirror.errors import IntegrityError, MirrorError, NotFound, NotReady
from mirror.extract import extract_text, is_light
from mirror.fetch.fetcher import FetchedFile, Fetcher, Skipped
from mirror.fetch.sinks import WriterFactory
from mirror.home import Home
from mirror.revisit import Known, Revisits
from mirror.publication import unpublish
from mirror.services import open_home
from mirror.sources.base import FileRef
from mirror.store import ContentStore, ImportResult
from mirror.store.blockstore import BlockBatch
from indexer.clock import second_time
from mirror.store.directory import TreeEntry

mimetypes.init()   # the system's type tables are read at import, never on the event loop

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Provenance:
    """How the first file of a document was obtained."""

    url: str                                  # where its bytes came from (final URL, or a path)
    retrieved_at: str
    status: int | None = None                 # HTTP status (None for a local file)
    headers: dict[str, str] | None = None     # HTTP response headers


@dataclass
class Collected:
    """A document's files, imported: their contents, the provenance of the first, how many were
    gone, the batch their blocks are staged in (commit it before the index refers to them, or abort
    it), and what to remember of the URLs that answered with validators (``mirror.revisit``)."""

    contents: list[ContentIn]
    provenance: Provenance | None
    gone: int
    blocks: BlockBatch
    learned: list[Known] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(c.size for c in self.contents)


# Bodies up to this size are fetched into memory, not into a staging file: for a small document the
# file (create, write, read back, remove) cost more than its fetch. Bounds memory to this size per
# record in flight (``pipeline.RECORDS_PER_REQUEST`` x concurrency: 128 by default, 32 MiB).
SPOOL_BYTES = 256 * 1024
# Bodies up to this size are imported on the event loop unless their text needs a parser (HTML, PDF):
# hashing 64 KiB and writing one block file take less than handing the work to a thread and waking
# the loop again (370 -> 418 small documents/s).
INLINE_BYTES = 64 * 1024


@dataclass
class _Obtained:
    path: Path | None            # the file, or None for bytes in memory (``data``)
    temporary: bool
    url: str                     # where the bytes came from (the final URL)
    requested: str | None = None # the URL asked for, when fetched over HTTP
    status: int | None = None
    headers: dict[str, str] | None = None
    fetched_at: str | None = None
    media_type: str | None = None
    sha256: str | None = None
    data: bytes | None = None
    reused: Known | None = None  # a 304: the content stored last time, not fetched again
    imported: Imported | None = None   # a large body, imported as it arrived


class Ingestor:
    """Store and index documents in one home; safe to share between concurrent workers."""

    def __init__(self, home: Home, index: Index, store: ContentStore,
                 revisits: Revisits | None = None) -> None:
        self.home = home
        self.index = index
        self.store = store
        self.revisits = revisits          # with it, fetches are conditional (``mirror.revisit``)

    async def collect(self, files: Sequence[FileRef], fetcher: Fetcher | None,
                      profile: str | None = None, *, revisit: bool = True) -> Collected:
        """Obtain and import FILES (with ``revisit``, those stored before are asked for
        conditionally); see ``Collected``."""
        done = Collected([], None, 0, self.store.blocks.open_batch())
        try:
            for ref in files:
                got = await self._obtain(ref, fetcher, revisit, self._writer(ref, profile, done.blocks))
                if got is None:
                    done.gone += 1
                    continue
                try:
                    self._add(done, got, await self._content(got, ref, profile, done.blocks))
                finally:
                    if got.temporary and got.path is not None:
                        await asyncio.to_thread(_remove, got.path)
        except BaseException:
            await asyncio.to_thread(done.blocks.abort)
            raise
        return done

    def _writer(self, ref: FileRef, profile: str | None, blocks: BlockBatch) -> WriterFactory:
        """What a large body of REF is imported by as it arrives (``mirror.body_import``)."""
        chosen = self.store.profile(profile)

        def make(url: str, media_type: str | None) -> BodyImport:
            media = media_type or ref.media_type or _guess_type(url)
            return BodyImport(blocks, chosen, self.home.staging_dir, media, _name_of(url))
        return make

    async def _content(self, got: _Obtained, ref: FileRef, profile: str | None,
                       blocks: BlockBatch) -> ContentIn:
        if got.reused is not None:
            return replace(got.reused.content, name=ref.name or got.reused.content.name)
        if got.imported is not None:
            body = got.imported
            return ContentIn(sha256=body.result.sha256, size=body.result.size, cid=str(body.result.cid),
                             profile=body.result.profile, media_type=got.media_type,
                             name=ref.name or body.name, url=got.url,
                             text=await asyncio.to_thread(body.text))
        return await self._import(got, ref, profile, blocks)

    @staticmethod
    def _add(done: Collected, got: _Obtained, content: ContentIn) -> None:
        done.contents.append(content)
        done.provenance = done.provenance or _provenance(got)
        if got.requested and got.reused is None and got.headers:
            known = Known.learn(got.requested, got.headers, content, got.fetched_at or second_time(), got.status)
            done.learned += [known] if known else []

    async def index_added(self, path: Path, result: ImportResult, *, collection: str,
                          license: str | None = None) -> UpsertResult:
        """Index a file ``openmirror add`` just stored, as a document of COLLECTION.

        Its title is the file name, its source id ``added_name(path)`` (never a local absolute
        path: source ids are published); its ``file:`` URL is kept here only (peers get the file
        name, ``mirror.publication.public_form``). A document an older openmirror keyed on the
        absolute path moves to the new id. LICENSE (an SPDX id or a licence URL) is normalised,
        and an unknown statement is kept as found; without an open one the document is private.
        """
        media_type = _guess_type(path.name)
        spdx = licenses.normalize(license) if license else None
        text = await asyncio.to_thread(extract_text, path, media_type)
        resolved = await asyncio.to_thread(path.resolve)
        doc = DocumentIn(collection=collection, source_id=added_name(path), title=path.name,
                         license=spdx, license_url=licenses.license_url(spdx) if spdx else None,
                         license_statement=license, retrieved_at=second_time(),
                         source_url=resolved.as_uri())
        doc.contents = [ContentIn(sha256=result.sha256, size=result.size, cid=str(result.cid),
                                  profile=result.profile, media_type=media_type, name=path.name,
                                  url=doc.source_url, text=text)]
        async with self.index.transaction() as tx:
            await tx.rekey(collection, str(resolved), doc.source_id)     # an older openmirror's key
            return await tx.upsert_document(doc)

    async def _obtain(self, ref: FileRef, fetcher: Fetcher | None, revisit: bool,
                      into: WriterFactory) -> _Obtained | None:
        if ref.page is not None:
            known = await self.revisits.get(ref.page.url) if self.revisits and ref.page.status == 304 else None
            return _reused(known, ref.page.url) if known else _from_page(ref)
        local = _local_path(ref.url)
        if local is not None:
            if not await asyncio.to_thread(local.is_file):
                if not await asyncio.to_thread(os.path.lexists, local):   # fails the record, named
                    raise NotFound(f"no such file: {local}", hint="fix the path, or remove the line")
                return None                                 # a device or a FIFO: nothing to store
            return _Obtained(path=local, temporary=False, url=str(local), fetched_at=second_time(),
                             media_type=ref.media_type or _guess_type(local.name))
        if fetcher is None:
            raise ValueError(f"cannot fetch {ref.url} without a fetcher")
        known = await self.revisits.get(ref.url) if self.revisits and revisit else None
        fetched = await fetcher.fetch_file(ref.url, digest=False,   # the import hashes it
                                           spool=SPOOL_BYTES, headers=known.conditions() if known else None,
                                           into=into)
        if known and not isinstance(fetched, Skipped) and fetched.status == 304:
            assert self.revisits is not None
            await _drop_written(fetched)           # a 304 carries no content (whatever it sent)
            if await self.revisits.held(known):
                return _reused(known, ref.url)
            fetched = await fetcher.fetch_file(ref.url, digest=False, spool=SPOOL_BYTES, into=into)
        if isinstance(fetched, Skipped):
            return None
        return _from_fetched(fetched, ref)

    async def _import(self, got: _Obtained, ref: FileRef, profile: str | None,
                      blocks: BlockBatch) -> ContentIn:
        name = _name_of(got.url)
        if got.data is not None and len(got.data) <= INLINE_BYTES \
                and is_light(got.data, got.media_type, name=name):
            result, text = self._import_inline(got, name, profile, blocks)
        else:
            result, text = await asyncio.to_thread(self._import_file, got, name, profile, blocks)
        if got.sha256 and got.sha256 != result.sha256:
            raise IntegrityError(f"{got.url}: bytes changed between fetch and import")
        return ContentIn(sha256=result.sha256, size=result.size, cid=str(result.cid),
                         profile=result.profile, media_type=got.media_type,
                         name=ref.name or name, url=got.url, text=text)

    def _import_inline(self, got: _Obtained, name: str, profile: str | None,
                       blocks: BlockBatch) -> tuple[ImportResult, str | None]:
        """``_import_file`` on the event loop, on purpose (``INLINE_BYTES``): the test suite's
        blocking guard allows this function by name."""
        return self._import_file(got, name, profile, blocks)

    def _import_file(self, got: _Obtained, name: str, profile: str | None,
                     blocks: BlockBatch) -> tuple[ImportResult, str | None]:
        """Import and extract in one step (a thread hop per step costs as much as the work for a
        small file). NAME types bytes in memory served without a media type."""
        if got.data is not None:
            return (self.store.add_file(io.BytesIO(got.data), profile, batch=blocks),
                    extract_text(got.data, got.media_type, name=name))
        assert got.path is not None
        return (self.store.add_file(got.path, profile, batch=blocks),
                extract_text(got.path, got.media_type))


def _provenance(got: _Obtained) -> Provenance:
    return Provenance(got.url, got.fetched_at or second_time(), got.status,
                      dict(got.headers) if got.headers else None)


def _from_fetched(f: FetchedFile, ref: FileRef) -> _Obtained:
    imported = f.written if isinstance(f.written, Imported) else None
    path = imported.path if imported is not None else f.path      # ours to remove either way
    return _Obtained(path=path, temporary=path is not None, url=f.final_url, requested=f.url,
                     status=f.status, headers=dict(f.headers), fetched_at=f.fetched_at,
                     media_type=f.media_type or ref.media_type or _guess_type(f.final_url),
                     sha256=f.sha256, data=f.body, imported=imported)


async def _drop_written(fetched: FetchedFile) -> None:
    """Unstage what the importer made of an answer that is not used (off the event loop)."""
    if isinstance(fetched.written, Imported):
        await asyncio.to_thread(fetched.written.discard)


def _reused(known: Known, url: str) -> _Obtained:
    """A URL that answered 304: the content and provenance of the answer that brought its bytes."""
    return _Obtained(path=None, temporary=False, url=known.content.url or url, requested=url,
                     status=known.status, headers=known.headers, fetched_at=known.retrieved_at,
                     media_type=known.content.media_type, reused=known)


def _from_page(ref: FileRef) -> _Obtained:
    """A page the source already fetched (a crawled web page): its bytes, imported from memory."""
    page = ref.page
    assert page is not None
    ctype = (page.headers.get("Content-Type") or page.headers.get("content-type") or "")
    return _Obtained(path=None, temporary=False, url=page.final_url, requested=page.url, status=page.status,
                     headers=dict(page.headers), fetched_at=page.fetched_at,
                     media_type=ctype.split(";")[0].strip() or "text/html", data=page.body)


def _local_path(url: str) -> Path | None:
    if url.startswith("file://"):
        return Path(url[7:])
    if "://" in url:
        return None
    return Path(url)


def added_name(path: Path) -> str:
    """The source id of a file ``openmirror add`` indexes: the path as given when it is relative
    and stays below the current folder (``docs/report.pdf``), else the file name."""
    if not path.is_absolute():
        relative = os.path.normpath(path.as_posix()).replace(os.sep, "/")
        if relative != ".." and not relative.startswith("../") and relative != ".":
            return relative
    return path.name


def _guess_type(name: str) -> str | None:
    return mimetypes.guess_type(name.split("?", 1)[0])[0]


def _name_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0] or "index"


@dataclass
class Added:
    """What ``add_paths`` did with one path: its import result, or the error that stopped it."""

    path: Path
    result: ImportResult | None = None
    error: MirrorError | None = None
    indexed: str | None = None       # the index outcome (stored/updated/unchanged) for a file
    entries: list[TreeEntry] = field(default_factory=list)   # a directory: everything below it


async def add_paths(home: Home, paths: list[Path], *, recursive: bool = False, hidden: bool = False,
                    profile: str | None = None, collection: str = "local", license: str | None = None,
                    index: bool = True, kubo: Any = None) -> AsyncIterator[Added]:
    """``openmirror add``: store each path (pushing to Kubo when given) and index each file.

    A path that fails is yielded with its error and nothing of it is stored; the others go on.
    Directories (with ``recursive``) are stored as UnixFS directories and not indexed. What no
    document lists (a directory, a file with ``index=False``) is not published: the gateway does
    not serve it unless pinned (``mirror.publication``).
    """
    async with open_home(home) as services:
        store = services.store
        ingestor = Ingestor(home, services.index, services.store) if index else None
        for path in paths:
            entries: list[TreeEntry] = []
            try:
                result = await store.add(path, recursive=recursive, hidden=hidden, profile=profile,
                                         kubo=kubo, listing=entries)
            except NotReady:
                raise
            except MirrorError as exc:
                yield Added(path, error=exc)
                continue
            indexed = None
            if ingestor is not None and result.sha256:
                upsert = await ingestor.index_added(path, result, collection=collection, license=license)
                indexed = upsert.status
            else:
                await unpublish(services.index, store, [str(result.cid)])
            yield Added(path, result, indexed=indexed, entries=entries)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
