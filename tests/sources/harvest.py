"""Helpers for source tests: run a source to the end (or to a stop) and split what it yields."""

from __future__ import annotations

from dataclasses import dataclass, field

from mirror.fetch.fetcher import Fetcher
from mirror.sources.base import Checkpoint, Record, Source


@dataclass
class Run:
    records: list[Record] = field(default_factory=list)
    checkpoints: list[dict[str, str]] = field(default_factory=list)

    @property
    def final(self) -> dict[str, str]:
        return self.checkpoints[-1]

    def by_id(self) -> dict[str, Record]:
        return {r.source_id: r for r in self.records}


async def harvest(source: Source, fetcher: Fetcher, state: dict[str, str] | None = None,
                  stop_after_checkpoints: int | None = None) -> Run:
    """Everything ``source.records`` yields; with ``stop_after_checkpoints`` the run is abandoned
    (like a killed process) right after that many checkpoints."""
    run = Run()
    async for item in source.records(fetcher, dict(state or {})):
        if isinstance(item, Checkpoint):
            run.checkpoints.append(item.state)
            if stop_after_checkpoints is not None and len(run.checkpoints) >= stop_after_checkpoints:
                break
        else:
            run.records.append(item)
    return run
