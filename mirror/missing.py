"""Records that left their source: a line removed from a manifest, a file deleted from a folder.

A harvest of a manifest or a folder that walks the whole source in one run (not resumed from a
checkpoint, no ``--limit``, not a dry run) meets every record the source holds. A document an
earlier harvest stored whose record it did not meet is retracted at the end, a signed retraction
that peers apply, unless ``--keep-missing``. Only documents a harvest of the same source stored
count: those with a record status (``openmirror add`` writes none), in a collection last harvested
from this same location, so two sources feeding one collection never retract each other's.

    missing = await MissingRecords.start(index, collection, source, state, options, former)
    ...                                  # the harvest adds every source id it meets to missing.seen
    retracted = await missing.retract(writes, pass_id)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from indexer import harvest
from indexer.index import Index, Transaction
from mirror.outcome import Kind

if TYPE_CHECKING:
    from mirror.batch import GroupCommit

KINDS = ("manifest", "folder")       # sources that list every record they hold, every time
BATCH = 500
REASON = "missing from the source"


@dataclass
class MissingRecords:
    index: Index
    collection: str
    seen: set[str] = field(default_factory=set)

    @classmethod
    def start(cls, index: Index, collection: str, source: Any, state: dict[str, str], options: Any,
              former_source: str | None) -> "MissingRecords | None":
        """A tracker when this run can tell what left the source (module docstring), else None."""
        if options.keep_missing or options.dry_run or options.limit is not None or source.kind not in KINDS:
            return None
        if state or former_source not in (None, source.location):   # resumed, or another source
            return None
        return cls(index, collection)

    async def retract(self, writes: "GroupCommit", pass_id: str) -> int:
        """Retract the documents whose records were not met; returns how many."""
        async with self.index.read() as conn:
            stored = await harvest.harvested_live(conn, self.collection)
        gone = sorted(set(stored) - self.seen)
        retracted = 0
        for start in range(0, len(gone), BATCH):
            retracted += await writes.run(self._retracting(gone[start:start + BATCH], pass_id))
        return retracted

    def _retracting(self, source_ids: list[str], pass_id: str) -> Any:
        async def job(tx: Transaction) -> int:
            done = [s for s in source_ids if await tx.retract(self.collection, s)]
            await tx.set_record_statuses(self.collection, [(s, Kind.RETRACTED.value, None,
                                                            f"{pass_id} {REASON}") for s in done])
            return len(done)
        return job
