"""The harvest engine: source -> licence gate -> dedupe -> fetch -> store -> index, N workers.

One run of ``mirror_collection`` walks a source's records. Every record ends in exactly one
``mirror.outcome.Outcome`` (stored, updated, unchanged, skipped with a reason, gone, retracted or
failed); outcomes are counted in a ``Summary``, never raised. A record is a frozen value; the
``DocumentIn`` the index gets is built here, once, from its metadata, the licence decision and
the imported contents with their provenance.

Resumability. The source yields ``Checkpoint`` markers (an OAI resumption token, a manifest line
number...). A checkpoint is persisted only once every record yielded before it has reached its
outcome, so a ``kill -9`` loses nothing: the rerun restarts from the last checkpoint and skips the
records it already finished in this pass (their status carries the pass id), re-fetching at most
what was in flight. A pass that reaches the end of the source is marked complete; the next run
starts a new pass and fetches only new or changed records (datestamps, conditional requests).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable

from indexer import harvest
from indexer.index import Index
from indexer.transaction import Transaction
from indexer.records import CollectionIn, ContentIn, DocumentIn, RecordState
from mirror import licenses
from mirror.errors import KuboError, MirrorError, UsageError, disk_full, is_disk_full
from mirror.fetch.fetcher import Fetcher
from mirror.fetch.guard import harvest_policy
from mirror.batch import GroupCommit, StateRow, StatusRow, status_reader
from mirror.home import Home
from mirror.ingest import Collected, Ingestor
from mirror.missing import MissingRecords
from mirror.revisit import Revisits
from mirror.outcome import GONE, RETRACTED, STORED, UNCHANGED, Kind, Outcome, Summary, failed, skipped
from mirror.reclaim import reclaim
from mirror.services import open_home
from mirror.sources import SourceOptions, open_source
from mirror.sources.admission import Admission
from mirror.sources.base import Checkpoint, Record
from mirror.settings import Settings
from mirror.store import ContentStore
from mirror.store.cid import CID
from indexer.clock import stamp_time

if TYPE_CHECKING:
    from mirror.store.kubo import KuboClient

log = logging.getLogger(__name__)

STATE_PASS = "pass"            # id of the current pass (ISO time it started)
STATE_COMPLETE = "complete"    # "1" once the current pass reached the end of the source
STATE_SOURCE = "source."       # prefix of the source's own checkpoint keys
# Records in flight per request in flight: while some records fetch (the Fetcher holds requests to
# ``concurrency``), others import or wait for their group commit, so commits come in bigger groups
# (x4: 183 -> 275 small documents/s; once small bodies stayed in memory, x8: 301 -> 373, as groups
# grew from 31 to 62 documents and FTS5 flushes a segment per transaction; x16 gained nothing more).
RECORDS_PER_REQUEST = 8


@dataclass
class MirrorOptions:
    collection: str | None = None
    kind: str | None = None
    set_spec: str | None = None
    metadata_prefix: str | None = None     # OAI-PMH format (default: the richest offered)
    licenses: list[str] | None = None      # --license: replaces the allow-list (folder: the licence)
    limit: int | None = None
    dry_run: bool = False
    per_host: int | None = None
    delay: float | None = None
    concurrency: int | None = None
    obey_robots: bool | None = None
    max_depth: int = 3
    profile: str | None = None
    allow_private: bool = False            # --allow-private (implied when the source is on one)
    ipfs_api: str | None = None            # --ipfs-api: also import and pin in Kubo (store.ipfs_api)
    allow_licenses: list[str] | None = None  # --allow-license: replaces the allow-list, any kind
    assume_license: str | None = None      # --assume-license: a folder's licence, or a site's where
    #                                        a page states none (a site the user owns)
    accept: tuple[str, ...] = ()           # site crawl: wget's --accept, --reject, --no-parent
    reject: tuple[str, ...] = ()
    no_parent: bool = False
    limit_rate: int | None = None          # bytes per second downloaded at most (fetch.limit_rate)
    keep_missing: bool = False             # manifest, folder: keep documents whose line or file is gone


ProgressFn = Callable[[Outcome, int | None], None]   # (outcome, total known so far)


@dataclass
class _Work:
    seq: int
    record: Record


class _Checkpoints:
    """Persist a checkpoint once every record yielded before it is done."""

    def __init__(self) -> None:
        self.outstanding: set[int] = set()
        self.pending: list[tuple[int, dict[str, str]]] = []

    def started(self, seq: int) -> None:
        self.outstanding.add(seq)

    def finished(self, seq: int) -> list[dict[str, str]]:
        self.outstanding.discard(seq)
        return self._ready()

    def add(self, seq: int, state: dict[str, str]) -> list[dict[str, str]]:
        self.pending.append((seq, state))
        return self._ready()

    def _ready(self) -> list[dict[str, str]]:
        low = min(self.outstanding, default=None)
        ready = [s for q, s in self.pending if low is None or q < low]
        self.pending = [(q, s) for q, s in self.pending if not (low is None or q < low)]
        return ready


async def mirror_collection(home: Home, location: str, options: MirrorOptions,
                            progress: ProgressFn | None = None,
                            watch: Callable[[Summary], None] | None = None) -> Summary:
    """Harvest LOCATION into HOME and return the summary of outcomes.

    A location that is not a collection raises. A run that starts and then stops on an error (the
    source's listing failed after retries, the repository refused to go on) still returns its
    summary: the counts so far, with the error in ``Summary.error``; what was stored stays, and the
    checkpoints persisted let a rerun resume. WATCH gets the live summary as soon as the run starts,
    so a caller whose run is cancelled (Ctrl-C) can still tell what it stored: an outcome is counted
    only once its index write committed."""
    settings = home.settings
    start = time.monotonic()
    policy = harvest_policy(settings, allow_private=options.allow_private)
    async with Fetcher(settings, home.staging_dir, per_host=options.per_host, delay=options.delay,
                       concurrency=options.concurrency, obey_robots=options.obey_robots,
                       policy=policy, limit_rate=options.limit_rate) as fetcher:
        if (implied := await fetcher.admit_source(location)) is not None:
            log.info("private addresses allowed: the source is on one (%s)", implied)
        assumed = [options.assume_license] if options.assume_license else options.licenses
        src_opts = SourceOptions(set_spec=options.set_spec, license=assumed, max_depth=options.max_depth,
                                 metadata_prefix=options.metadata_prefix, limit=options.limit,
                                 accept=options.accept, reject=options.reject, no_parent=options.no_parent)
        source = await open_source(location, fetcher, src_opts, kind=options.kind)
        check_options(options, source.kind)
        collection = options.collection or source.default_collection()
        summary = Summary(collection=collection, source=location, kind=source.kind,
                          dry_run=options.dry_run, allow_private=fetcher.policy.allow_private)
        if watch is not None:
            watch(summary)
        async with _kubo(settings, options) as kubo, open_home(home) as services:
            run = _Run(home, services.index, services.store, fetcher, source, collection, options,
                       summary, progress, kubo)
            try:
                await run.execute()
            except asyncio.CancelledError:         # Ctrl-C: what the index kept, exactly (writes in
                summary.kept = await services.index.count_marked(   # flight when it came may have
                    collection, Kind.STORED.value, run.pass_id) if run.pass_id else 0   # committed)
                raise
            except MirrorError as exc:
                summary.error = exc
            except OSError as exc:                 # the index's IndexDiskFull, or a bare ENOSPC
                summary.error = disk_full(exc, home.path)
                if summary.error is None:
                    raise
        summary.refused = fetcher.stats.refused
    summary.seconds = time.monotonic() - start
    return summary


@asynccontextmanager
async def _kubo(settings: Settings, options: MirrorOptions) -> AsyncIterator["KuboClient | None"]:
    """The Kubo node to import into (``--ipfs-api`` or ``store.ipfs_api``), checked reachable before
    anything is harvested (``NotReady``, exit 3, when it is not); None without one."""
    url = options.ipfs_api or settings.store.ipfs_api
    if not url:
        yield None
        return
    from mirror.store.kubo import KuboClient

    async with KuboClient(url, settings.store.ipfs_api_auth or None) as kubo:
        await kubo.version()
        yield kubo


SITE_KINDS = ("site", "sitemap")          # a website: --assume-license fills in for pages that state none


def check_options(options: MirrorOptions, kind: str) -> None:
    """Refuse options that mean nothing for a source of KIND (before anything is stored)."""
    if (options.accept or options.reject or options.no_parent) and kind != "site":
        raise UsageError(f"--accept, --reject and --no-parent filter a website crawl, not a {kind} source",
                         hint="crawl the site's pages with --kind site")
    if options.assume_license and kind not in ("folder", *SITE_KINDS):
        raise UsageError(f"--assume-license declares the licence of a folder or of a website you own, "
                         f"not of a {kind} source (its records state their own)",
                         hint="to admit a licence the allow-list leaves out, use --allow-license SPDX")


class _Run:
    def __init__(self, home: Home, index: Index, store: ContentStore, fetcher: Fetcher, source: Any,
                 collection: str, options: MirrorOptions, summary: Summary,
                 progress: ProgressFn | None, kubo: "KuboClient | None" = None) -> None:
        self.store, self.kubo = store, kubo
        self.home, self.index, self.fetcher, self.source = home, index, fetcher, source
        self.collection, self.options, self.summary = collection, options, summary
        self.progress = progress
        allow = options.allow_licenses or (options.licenses if source.kind != "folder" else None)
        self.allow = set(allow) if allow else None
        assume = options.assume_license
        self.assumed = (assume,) if assume and source.kind in SITE_KINDS else ()   # a folder's: its records
        self.ingestor = Ingestor(home, index, store)
        self.revisits = self.ingestor.revisits = Revisits(index, collection, store)
        self.checkpoints = _Checkpoints()
        self.writes = GroupCommit(index)     # the workers' index writes, committed in groups
        self.statuses = status_reader(index, collection)   # and their status lookups, in bulk
        self.pass_id = ""
        self.concurrency = options.concurrency or home.settings.fetch.concurrency
        self.admission = Admission(source.location, source.kind, home.path)  # what records may name
        self.seen: set[str] | None = None    # the source ids met (a manifest or folder: see missing.py)

    async def execute(self) -> None:
        await self.admission.check_source()
        if not self.options.dry_run:
            found = await reclaim(self.index, self.store)   # what a killed run left, if anything
            if found.blocks:
                log.info("reclaimed %d blocks a killed import left", found.blocks)
        async with self.index.read() as conn:
            former = await harvest.collection_source(conn, self.collection)
        await self.index.upsert_collection(CollectionIn(self.collection, self.source.location
                                                        if hasattr(self.source, "location") else None,
                                                        self.source.kind))
        state = await self._load_state()
        missing = MissingRecords.start(self.index, self.collection, self.source, state, self.options, former)
        self.seen = missing.seen if missing is not None else None
        queue: asyncio.Queue[_Work | None] = asyncio.Queue(maxsize=self.concurrency * 2)
        async with self.writes:
            workers = [asyncio.create_task(self._worker(queue))
                       for _ in range(self.concurrency * RECORDS_PER_REQUEST)]
            finished = await _drive(asyncio.create_task(self._feed(queue, state)), workers, queue)
            if finished and missing is not None:
                self.summary.retracted += await missing.retract(self.writes, self.pass_id)
        if finished and not self.options.dry_run:
            await self.index.set_state(self.collection, STATE_COMPLETE, "1")

    async def _load_state(self) -> dict[str, str]:
        get = self.index.get_state
        self.pass_id = await get(self.collection, STATE_PASS) or ""
        complete = await get(self.collection, STATE_COMPLETE) == "1"
        if not self.pass_id or complete:
            self.pass_id = _new_pass_id(self.pass_id)
            if not self.options.dry_run:
                await self.index.set_state(self.collection, STATE_PASS, self.pass_id)
                await self.index.set_state(self.collection, STATE_COMPLETE, "0")
        raw = await self.index.get_state(self.collection, "source") or "{}"
        return json.loads(raw)

    async def _feed(self, queue: asyncio.Queue, state: dict[str, str]) -> bool:
        seq = 0
        limit = self.options.limit
        async for item in self.source.records(self.fetcher, dict(state), revisits=self.revisits):
            if isinstance(item, Checkpoint):
                await self._persist(self.checkpoints.add(seq, item.state))
                continue
            if limit is not None and seq >= limit:
                return False
            seq += 1
            self.checkpoints.started(seq)
            if self.seen is not None:
                self.seen.add(item.source_id)
            await queue.put(_Work(seq, item))
        return limit is None or seq < limit

    async def _persist(self, states: list[dict[str, str]]) -> None:
        if states and not self.options.dry_run:
            await self.writes.write(state=StateRow(self.collection, "source", json.dumps(states[-1])))

    async def _worker(self, queue: asyncio.Queue) -> None:
        while (work := await queue.get()) is not None:
            outcome = await self._handle(work.record)
            self.summary.count(work.record.source_id, outcome)
            if self.progress:
                self.progress(outcome, getattr(self.source, "total", None))
            await self._persist(self.checkpoints.finished(work.seq))

    async def _handle(self, record: Record) -> Outcome:
        """Process RECORD to its outcome; a full disk is no outcome of the record: it stops the
        run (raised), and the record is taken up again by the next run."""
        try:
            return await self._process(record)
        except (MirrorError, OSError, asyncio.TimeoutError) as exc:
            if is_disk_full(exc):
                raise
            if isinstance(exc, MirrorError):
                return await self._fail(record, str(exc))
            return await self._fail(record, f"{type(exc).__name__}: {exc}")

    async def _fail(self, record: Record, message: str) -> Outcome:
        await self._status(record, Kind.FAILED, message)
        log.info("failed %s: %s", record.source_id, message)   # the summary lists failures
        return failed(message)

    async def _process(self, record: Record) -> Outcome:
        if record.error:
            return await self._fail(record, record.error)
        if (refused := await self.admission.refusal(record)) is not None:
            return await self._fail(record, refused)
        if record.deleted:
            return await self._retract(record)
        if record.skipped == "gone":
            await self._status(record, Kind.GONE, None)
            return GONE
        if record.skipped:
            await self._status(record, Kind.SKIPPED, record.skipped)
            return skipped(record.skipped)
        decision = licenses.decide(record.license_statements or self.assumed, self.allow)
        if not decision.allowed:
            reason = decision.reason or "unknown"
            await self._status(record, Kind.SKIPPED, f"{reason} ({decision.note})" if decision.note else reason)
            return skipped(reason, decision.note)
        status = await self.statuses.get(record.source_id)
        if status is None and (former := record.former_id) and await self.writes.run(
                lambda tx: tx.rekey(self.collection, former, record.source_id)):
            status = await self.statuses.get(record.source_id)      # adopted: an older run's key
        if self._already_done(record, status):
            return UNCHANGED
        if self.options.dry_run:
            return replace(STORED, note=decision.note)
        return replace(await self._store(record, decision, seen=status is not None), note=decision.note)

    async def _store(self, record: Record, decision: licenses.LicenseDecision, seen: bool) -> Outcome:
        """Fetch, import and write RECORD; its files are asked for conditionally when it was SEEN
        in an earlier run (a record never seen has nothing to revalidate)."""
        got = await self.ingestor.collect(record.files, self.fetcher, self.options.profile, revisit=seen)
        try:
            links = f"{len(record.metadata.links)} link(s) recorded, not mirrored" if record.metadata.links else None
            if not got.contents:
                if got.gone:
                    await self._status(record, Kind.GONE, links)
                    return GONE
                await self._status(record, Kind.SKIPPED, f"no-file ({links})" if links else "no-file")
                return skipped("no-file")
            gone = f"{got.gone} file(s) gone" if got.gone else None
            detail = "; ".join(part for part in (gone, links, decision.note) if part) or None
            upserted = await self.writes.write(
                doc=self._document(record, decision, got), blocks=got.blocks,
                states=[self.revisits.row(known) for known in got.learned],
                status=lambda r: self._row(record, Kind.STORED if r is None or r.status == "updated"
                                           else Kind(r.status), detail))
        finally:
            got.blocks.abort()               # a no-op once the write committed them
        assert upserted is not None
        refused = await self._push(record, got.contents) if self.kubo is not None else None
        if refused is not None:
            return failed(refused)
        return Outcome(Kind(upserted.status), bytes=got.bytes)

    async def _push(self, record: Record, contents: list[ContentIn]) -> str | None:
        """Import and pin CONTENTS in Kubo (its roots must be ours). A refusal fails the record (kept
        here) so that a rerun pushes it again; returns why. Kubo gone stops the run (NotReady)."""
        assert self.kubo is not None
        try:
            for content in contents:
                await self.kubo.push(self.store.blocks, CID.decode(content.cid))
        except KuboError as exc:
            reason = f"kubo: {exc}"
            await self._status(record, Kind.FAILED, reason)
            return reason
        return None

    def _document(self, record: Record, decision: licenses.LicenseDecision, got: Collected) -> DocumentIn:
        """The one DocumentIn of RECORD: its metadata, licence, contents and their provenance."""
        m, prov = record.metadata, got.provenance
        return DocumentIn(
            collection=self.collection, source_id=record.source_id, title=m.title,
            creators=list(m.creators), description=m.description, subjects=list(m.subjects),
            language=m.language, date=m.date, type=m.type,
            source_url=m.source_url or (prov.url if prov else None), landing_url=m.landing_url,
            license=decision.spdx, license_url=decision.url, license_statement=decision.statement,
            retrieved_at=prov.retrieved_at if prov else None, http_status=prov.status if prov else None,
            http_headers=dict(prov.headers or {}) if prov else {}, raw_record=m.raw_record,
            contents=got.contents)

    async def _retract(self, record: Record) -> Outcome:
        if self.options.dry_run:
            return RETRACTED

        async def write(tx: Transaction) -> bool:
            was_live = await tx.retract(self.collection, record.source_id)
            row = self._row(record, Kind.RETRACTED if was_live else Kind.GONE, None)
            await tx.set_record_statuses(self.collection, [row.values()])
            return was_live

        return RETRACTED if await self.writes.run(write) else GONE

    def _already_done(self, record: Record, status: RecordState | None) -> bool:
        if not status or status.status not in (Kind.STORED.value, Kind.UNCHANGED.value):
            return False
        if record.datestamp and status.datestamp == record.datestamp:
            return True
        return (status.detail or "").split(" ", 1)[0] == self.pass_id

    async def _status(self, record: Record, status: Kind, reason: str | None) -> None:
        if self.options.dry_run:
            return
        await self.writes.write(status=self._row(record, status, reason))

    def _row(self, record: Record, status: Kind, reason: str | None) -> StatusRow:
        """The record-status row of RECORD (its detail starts with the pass id)."""
        detail = self.pass_id + (f" {reason}" if reason else "")
        return StatusRow(self.collection, record.source_id, status, record.datestamp, detail)


async def _drive(feeder: asyncio.Task[bool], workers: list[asyncio.Task[None]],
                 queue: asyncio.Queue[_Work | None]) -> bool:
    """Run FEEDER and WORKERS to the end: once the feeder is done (even with an error), the
    workers finish what is queued, then the feeder's outcome is returned (or raised). A worker
    that fails (a full disk) stops everything at once, and its error is raised."""
    tasks: list[asyncio.Task[Any]] = [feeder, *workers]
    try:
        await _wait_for(feeder, workers)
        tasks.append(asyncio.create_task(_stop_all(queue, len(workers))))
        await _wait_for(None, workers)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return feeder.result()


async def _wait_for(feeder: asyncio.Task[bool] | None, workers: list[asyncio.Task[None]]) -> None:
    """Until FEEDER is done (None: every worker), raising what stopped a worker first (workers end
    only when told, so one that ended early failed)."""
    pending: set[asyncio.Task[Any]] = {*workers} | ({feeder} if feeder is not None else set())
    while pending and (feeder is None or feeder in pending):
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not feeder:
                task.result()


async def _stop_all(queue: asyncio.Queue[_Work | None], count: int) -> None:
    for _ in range(count):
        await queue.put(None)


def _new_pass_id(previous: str) -> str:
    """A pass id: the time the pass started, to the microsecond, never equal to the previous one
    (record statuses of the previous pass must not count as done in this one)."""
    now = stamp_time()
    return now if now != previous else f"{now}.1"
