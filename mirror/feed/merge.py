"""Merging verified feed entries into the index (protocol §5): idempotent and order-independent.

**The conflict rule.** For each document key ``(collection, source_id)``, of all the entries this
node *accepts*, the one with the greatest order key ``(ts, author, seq, hash)`` wins: the document
is the winner's body for a ``put``, retracted for a ``retract``. ``doc_versions`` keeps the winner
of every key; an entry is written only when its order key beats the stored one, so applying the
same entries in any order, any number of times, gives the same index.

**Accepted** means: the author is not blocked, is listed in ``node.accept_authors`` when that
setting is not empty (the node's own feed always is), the entry lies before the author's fork
(if fork evidence exists), and for a ``put`` the local licence gate (``mirror.licenses.decide``
with the default allow-list) allows it. Entries that are not accepted are still stored (chains
stay whole and verifiable, and they are relayed), they just take no part in the merge. When the
policy changes (block, unblock, a fork), the affected keys are *re-derived* from the stored
entries.

**Claims.** Every put that is written also records, for each of its files, the author's claim
that the sha256 is that CID and size (``mirror.binding``): a claim, never a binding, until this
node has checked the CID's bytes. Blocking an author removes its claims with its documents, so
nothing it said keeps an effect.

Every run is stored, merged and its cursor advanced in one index transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable

from sqlalchemy.ext.asyncio import AsyncConnection

from indexer import bindings, feeds, peers as peer_rows
from indexer.feeds import ForkRow, Head
from indexer.index import Index, Transaction
from mirror import binding, licenses
from mirror.errors import PeerError, SignatureError
from mirror.feed.bodies import PUT, RETRACT
from mirror.feed.entry import Entry, detect_fork, first_bad_signature, parse_entry
from mirror.feed.local import entry_row, version_of
from indexer.clock import entry_time

MAX_CLOCK_SKEW = timedelta(minutes=10)
REDERIVE_BATCH = 500
POLICY_ORIGIN = "policy"      # origin of index changes made by re-derivation


class StaleHead(PeerError):
    """The feed moved (another run was applied) between verification and the transaction."""


def licence_allows(body: dict) -> bool:
    """The local licence gate for a put body (the one a node also publishes by)."""
    return licenses.open_licence(body.get("license"), body.get("license_url"),
                                 body.get("license_statement"))


@dataclass(frozen=True)
class Policy:
    """Which authors this node merges: not blocked, and listed in ``accept`` when it is not empty."""

    me: str
    blocked: frozenset[str] = frozenset()
    accept: frozenset[str] = frozenset()

    def accepts_author(self, author: str) -> bool:
        if author in self.blocked:
            return False
        return author == self.me or not self.accept or author in self.accept

    def accepts(self, entry: Entry, fork_seq: int | None) -> bool:
        if entry.kind not in (PUT, RETRACT) or not self.accepts_author(entry.author):
            return False
        if fork_seq is not None and entry.seq >= fork_seq:
            return False
        return entry.kind == RETRACT or licence_allows(entry.body)


@dataclass
class Applied:
    """What applying one run did."""

    stored: int = 0          # entries stored
    changed: int = 0         # documents written or retracted
    head: Head | None = None


def cut_future(entries: list[Entry], now: datetime | None = None) -> list[Entry]:
    """ENTRIES up to (not including) the first dated more than the allowed skew ahead of now."""
    limit = entry_time((now or datetime.now(timezone.utc)) + MAX_CLOCK_SKEW)
    for i, entry in enumerate(entries):
        if entry.ts > limit:
            return entries[:i]
    return entries


class Merger:
    """Stores verified runs and merges them into the index under a policy."""

    def __init__(self, index: Index, me: str, accept: Iterable[str] = ()) -> None:
        self.index = index
        self.me = me
        self.accept = frozenset(accept)

    async def head(self, author: str) -> Head:
        """AUTHOR's feed head as stored here (seq 0 when none)."""
        async with self.index.read() as conn:
            return await feeds.get_head(conn, author)

    async def policy(self, conn: AsyncConnection) -> Policy:
        return Policy(self.me, frozenset(await peer_rows.list_blocked(conn)), self.accept)

    async def apply_run(self, author: str, entries: list[Entry], expected: Head) -> Applied:
        """Store ENTRIES (verified to continue EXPECTED) and merge the accepted ones.

        Raises ``StaleHead`` when the stored head is no longer EXPECTED, and ``PeerError`` when
        the author is blocked; nothing is written then.
        """
        entries = cut_future(entries)
        if not entries:
            return Applied(head=expected)
        async with self.index.transaction() as tx:
            conn = await tx.connection()
            head = await feeds.get_head(conn, author)
            if (head.seq, head.head) != (expected.seq, expected.head):
                raise StaleHead(f"feed {author[:16]}… moved to {head.seq} during the sync")
            policy = await self.policy(conn)
            if author in policy.blocked:
                raise PeerError(f"author {author[:16]}… is blocked")
            await feeds.add_entries(conn, author, [entry_row(e) for e in entries], entry_time())
            best: dict[tuple[str, str], Entry] = {}
            for entry in entries:
                if policy.accepts(entry, head.fork_seq):
                    key = entry.target
                    if key not in best or entry.order_key > best[key].order_key:
                        best[key] = entry  # type: ignore[index]
            changed = await self._merge(tx, conn, list(best.values()))
        last = entries[-1]
        return Applied(len(entries), changed,
                       Head(author, last.seq, last.hash, last.ts, head.fork_seq, head.feed_id))

    async def _merge(self, tx: Transaction, conn: AsyncConnection, candidates: list[Entry]) -> int:
        current = await feeds.get_versions(conn, [e.target for e in candidates])  # type: ignore[misc]
        winners = [e for e in candidates
                   if e.target not in current or e.order_key > current[e.target].order_key]
        await self._write(tx, conn, winners)
        return len(winners)

    async def _write(self, tx: Transaction, conn: AsyncConnection, winners: list[Entry]) -> None:
        """Make each winner the state of its document."""
        by_author: dict[str, list] = {}
        for entry in winners:
            if entry.kind == PUT:
                by_author.setdefault(entry.author, []).append(binding.canonical_document(entry.document()))
        for author, docs in by_author.items():
            results = await tx.upsert_documents(docs, origin=author)
            same = [d for d, r in zip(docs, results) if r.status == "unchanged"]
            if same:                       # changed ones are recorded by the claims hook
                await binding.record_claims(conn, same, author)
        for entry in winners:
            if entry.kind == RETRACT:
                await tx.retract(*entry.target, origin=entry.author)  # type: ignore[misc]
        await feeds.put_versions(conn, [version_of(e) for e in winners])

    # -- policy changes ------------------------------------------------------------------------

    async def block(self, author: str) -> int:
        """Block AUTHOR and re-derive the documents it had won, in one transaction; returns
        documents changed."""
        async with self.index.transaction() as tx:
            conn = await tx.connection()
            await peer_rows.block_author(conn, author, entry_time())
            keys = await feeds.keys_won_by(conn, author)
            changed = await self._rederive_all(tx, {feeds.target_of(*k) for k in keys})
            await bindings.forget_author(conn, author, entry_time())
            return changed

    async def unblock(self, author: str) -> int:
        """Unblock AUTHOR and re-derive every document its stored entries are about."""
        async with self.index.transaction() as tx:
            conn = await tx.connection()
            await peer_rows.unblock_author(conn, author)
            return await self._rederive_all(tx, await feeds.author_targets(conn, author))

    async def add_fork(self, fork: ForkRow) -> bool:
        """Record fork evidence (already verified) and re-derive what the author's entries from the
        fork on had decided, in the same transaction: no crash can leave the evidence without its
        effect. False when the evidence was known."""
        async with self.index.transaction() as tx:
            conn = await tx.connection()
            new = await feeds.add_fork(conn, fork)
            if new:
                await self._rederive_all(tx, await feeds.author_targets(conn, fork.author, fork.seq))
        return new

    async def rederive(self, targets: set[int]) -> int:
        """Recompute the winner of every key among the stored entries with these target hashes."""
        async with self.index.transaction() as tx:
            return await self._rederive_all(tx, targets)

    async def _rederive_all(self, tx: Transaction, targets: set[int]) -> int:
        ordered, changed = sorted(targets), 0
        for lo in range(0, len(ordered), REDERIVE_BATCH):
            changed += await self._rederive(tx, ordered[lo:lo + REDERIVE_BATCH])
        return changed

    async def _rederive(self, tx: Transaction, targets: list[int]) -> int:
        conn = await tx.connection()
        policy = await self.policy(conn)
        stored = [parse_entry(p, s) for p, s in await feeds.entries_about(conn, targets)]
        forks = {a: (await feeds.get_head(conn, a)).fork_seq for a in {e.author for e in stored}}
        best: dict[tuple[str, str], Entry | None] = {e.target: None for e in stored}  # type: ignore[misc]
        for entry in stored:
            if policy.accepts(entry, forks[entry.author]):
                old = best[entry.target]  # type: ignore[index]
                if old is None or entry.order_key > old.order_key:
                    best[entry.target] = entry  # type: ignore[index]
        current = await feeds.get_versions(conn, best)
        winners = [e for k, e in best.items() if e is not None
                   and (k not in current or current[k].hash != e.hash)]
        await self._write(tx, conn, winners)
        orphans = [k for k, e in best.items() if e is None and k in current]
        for collection, source_id in orphans:
            await tx.retract(collection, source_id, origin=POLICY_ORIGIN)
        await feeds.delete_versions(conn, orphans)
        return len(winners) + len(orphans)


def fork_evidence(ours: tuple[bytes, bytes], theirs: tuple[bytes, bytes]) -> ForkRow:
    """Fork evidence from two (payload, signature) pairs; ``SignatureError`` unless both are
    validly signed entries of one author at one seq with different hashes."""
    a, b = parse_entry(*ours), parse_entry(*theirs)
    if not detect_fork(a, b) or first_bad_signature([a, b]) is not None:
        raise SignatureError(f"not a fork of {a.author[:16]}… at {a.seq}")
    return ForkRow(a.author, a.seq, ours, theirs, entry_time())
