"""Checking the feeds an index holds, as a peer would check them: every stored entry parsed, its
signature verified and its chain followed from seq 1 to the head the feeds table names.

    bad = await check_feeds(index)            # FeedCheck(feeds, entries, bad=[{author, seq, problem}])

A node verifies entries before it stores them; this finds what changed after (a damaged disk, a
hand-edited file): an entry that no longer parses or verifies, a gap or a broken link, a head row
that names another entry than the last one stored. Entries are read a page at a time in one read
snapshot per page and verified on every core (``verify_chain``); the first problem of a feed is
reported and the rest of that feed skipped (everything after a broken link is unverifiable).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any

from indexer import feeds
from indexer.feeds import Head
from indexer.index import Index
from mirror.errors import PeerError, SignatureError
from mirror.feed.entry import Entry, parse_entry, verify_chain

PAGE = 2000
LISTED = 100              # problems kept in the report


@dataclass
class FeedCheck:
    feeds: int = 0
    entries: int = 0
    bad: list[dict[str, Any]] = field(default_factory=list)    # {author, seq, problem}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def check_feeds(index: Index) -> FeedCheck:
    """Verify every stored entry of every feed (see the module docstring)."""
    found, after = FeedCheck(), ""
    while True:
        async with index.read() as conn:
            heads = await feeds.list_heads(conn, after=after, limit=1000, include_blocked=True,
                                           include_empty=True)
        for head in heads:
            found.feeds += 1
            problem = await _check_feed(index, head, found)
            if problem is not None and len(found.bad) < LISTED:
                found.bad.append({"author": head.author, "seq": problem[0], "problem": problem[1]})
        if len(heads) < 1000:
            return found
        after = heads[-1].author


async def _check_feed(index: Index, head: Head, found: FeedCheck) -> tuple[int, str] | None:
    """(seq, problem) of the first thing wrong with HEAD's stored feed, or None."""
    seq, last, ts = 0, None, None
    while seq < head.seq:
        try:
            async with index.read() as conn:
                rows = await feeds.read_entries(conn, head.author, seq, PAGE)
        except (TypeError, ValueError) as exc:          # a column no longer holds bytes
            return seq + 1, f"unreadable entries: {exc}"
        if not rows:
            return seq + 1, f"entries {seq + 1} to {head.seq} are missing"
        entries = []
        for payload, signature in rows:
            try:
                entries.append(parse_entry(payload, signature))
            except PeerError as exc:
                return seq + len(entries) + 1, str(exc)[:300]
        try:
            await asyncio.to_thread(verify_chain, entries, author=head.author, after_seq=seq,
                                    after_hash=last, after_ts=ts)
        except (PeerError, SignatureError):
            return await asyncio.to_thread(_first_bad, entries, head.author, seq, last, ts)
        found.entries += len(entries)
        seq, last, ts = entries[-1].seq, entries[-1].hash, entries[-1].ts
    if seq != head.seq or last != head.head:
        return head.seq, "the feed's head names another entry than the last one stored"
    return None


def _first_bad(entries: list[Entry], author: str, seq: int, last: bytes | None,
               ts: str | None) -> tuple[int, str]:
    """(seq, problem) of the first of ENTRIES that does not verify after (SEQ, LAST, TS)."""
    for entry in entries:
        try:
            verify_chain([entry], author=author, after_seq=seq, after_hash=last, after_ts=ts)
        except (PeerError, SignatureError) as exc:
            return seq + 1, str(exc)[:300]
        seq, last, ts = entry.seq, entry.hash, entry.ts
    return seq, "the page does not verify as a whole"
