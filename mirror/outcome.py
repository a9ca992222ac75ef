"""How a record ended, and the count of a whole run.

Every record a harvest meets ends in exactly one ``Outcome``: its ``Kind`` (stored, updated,
unchanged, skipped, gone, retracted, failed), the reason of a skip or the error of a failure, and
the bytes of new content stored. Outcomes are values, counted in a ``Summary``, never raised.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from mirror.errors import MirrorError


class Kind(Enum):
    """The kinds of outcome; the values are the words of the summary and of record statuses."""

    STORED = "stored"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    GONE = "gone"
    RETRACTED = "retracted"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    """How one record ended."""

    kind: Kind
    reason: str | None = None    # skipped: why (a licence skip reason, "no-file", "robots"); failed: the error
    bytes: int = 0               # stored or updated: the bytes of its contents
    note: str | None = None      # the licence statements disagreed: which decided, and why


STORED = Outcome(Kind.STORED)
UNCHANGED = Outcome(Kind.UNCHANGED)
GONE = Outcome(Kind.GONE)
RETRACTED = Outcome(Kind.RETRACTED)


def skipped(reason: str, note: str | None = None) -> Outcome:
    return Outcome(Kind.SKIPPED, reason, note=note)


def failed(error: str) -> Outcome:
    return Outcome(Kind.FAILED, error)


@dataclass
class Summary:
    """The outcomes of one run, counted."""

    collection: str = ""
    source: str = ""
    kind: str = ""
    stored: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    gone: int = 0
    retracted: int = 0
    failed: int = 0
    bytes: int = 0
    seconds: float = 0.0
    failures: list[dict[str, str]] = field(default_factory=list)
    conflicts: list[dict[str, str]] = field(default_factory=list)   # licence statements that disagreed
    dry_run: bool = False
    refused: int = 0                  # connections the address policy refused (each failed a record)
    allow_private: bool = False       # private addresses were allowed (flag, or implied by the source)
    error: MirrorError | None = None  # what stopped the run before the end of the source
    kept: int | None = None           # a cancelled run: documents its pass stored, counted in the index

    def count(self, source_id: str, outcome: Outcome) -> None:
        """Add one record's OUTCOME (a failure is also listed with its error, a licence
        disagreement with its note)."""
        kind = outcome.kind
        if outcome.note:
            self.conflicts.append({"source_id": source_id, "note": outcome.note})
        if kind is Kind.SKIPPED:
            self.skipped[outcome.reason or "unknown"] += 1
            return
        setattr(self, kind.value, getattr(self, kind.value) + 1)
        if kind is Kind.FAILED:
            self.failures.append({"source_id": source_id, "error": outcome.reason or ""})
        elif kind in (Kind.STORED, Kind.UPDATED):
            self.bytes += outcome.bytes

    def hint(self) -> str | None:
        """What to try when every record was skipped (nothing stored, unchanged or failed)."""
        done = (self.stored, self.updated, self.unchanged, self.gone, self.retracted, self.failed)
        if not self.skipped or any(done):
            return None
        reasons = set(self.skipped)
        advice = [text for group, text in _ADVICE if reasons & group]
        return "every record was skipped: " + "; ".join(advice or ["see the reasons above"])

    def to_dict(self) -> dict[str, Any]:
        """The JSON fields of ``openmirror mirror --json``; ``conflicts`` only when licence statements
        disagreed, ``error`` only when the run stopped on one."""
        out = {
            "collection": self.collection, "source": self.source, "kind": self.kind,
            "stored": self.stored + self.updated, "updated": self.updated,
            "unchanged": self.unchanged, "skipped": dict(self.skipped), "gone": self.gone,
            "retracted": self.retracted, "failed": self.failed, "bytes": self.bytes,
            "seconds": round(self.seconds, 3), "dry_run": self.dry_run,
            "failures": self.failures[:100], "refused": self.refused,
            "allow_private": self.allow_private,
        }
        if self.conflicts:
            out["conflicts"] = self.conflicts[:100]
        if self.error is not None:
            out["error"] = self.error.message
        if (hint := self.hint()) is not None:
            out["hint"] = hint
        if self.kept is not None:
            out["kept"] = self.kept
        return out


_LICENCE = {"non-commercial", "no-derivatives", "all-rights-reserved", "arxiv-nonexclusive", "not-allowed"}
_NO_LICENCE = {"no-license", "unknown-license", "open-access-without-license"}
_ADVICE = (
    (_LICENCE, "their licences are not on the open allow-list; if the collection is open under a "
               "licence the list lacks, allow it with --allow-license SPDX"),
    (_NO_LICENCE, "no licence openmirror can read was stated; for a folder or a website you own, "
                  "declare it with --assume-license SPDX"),
    ({"robots"}, "robots.txt disallows them (--ignore-robots only for a site you run)"),
    ({"filtered"}, "--accept/--reject left every file out (suffixes such as pdf, or patterns such as "
                   "*.pdf)"),
    ({"no-file"}, "they name no file to mirror (only links or landing pages)"),
)
