"""The node's IPNI publisher: one signed advertisement chain telling indexers which blocks it holds.

    publisher = IpniPublisher(HOME / "ipni", node.identity, ["https://mirror.example.org"],
                              on_head=announcer.notify)
    await publisher.publish(added=[HeldDag(key, multihashes)], removed=[key, ...])

or, simplest, ``await publisher.reconcile({key: root_cid, ...}, store.blocks)`` with every content
held now: it advertises what is new and withdraws what is gone (idempotent).

``added`` names contents newly held here, each with the multihash of *every* block of its DAG
(clients ask indexers for inner blocks too, not only roots); ``removed`` names contents dropped.
Keys are the caller's (a content's sha256 or root CID) and must stay the same for a content.

What one publication writes (one transaction, then one ``on_head`` call):

* contents already advertised are skipped: nothing is announced twice;
* new contents go out in groups, each under a fresh random ContextID, as advertisements of at
  most ``MAX_AD_ENTRIES`` multihashes (a group bigger than that spans several advertisements
  with the same ContextID), their entries in EntryChunks of at most ``CHUNK_ENTRIES`` (about
  1 MB of DAG-JSON each, under the 4 MB indexers accept);
* a removal withdraws the whole ContextID of each dropped content (an ``IsRm`` advertisement:
  indexers remove by ContextID, all or nothing), then advertises the contents of those groups
  still held under new ContextIDs. Groups are batches of what arrived together, so a removal
  costs at most one batch sent again.

Advertisements carry ``transport-ipfs-gateway-http`` metadata and the node's provider multiaddrs;
see ``mirror.node.ipni.advert`` for the formats and ``mirror.node.ipni.http`` for how they are
served.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mirror.errors import BlockNotFound
from mirror.node.ipni.advert import (NO_ENTRIES, Block, Signer, advertisement, entry_chunks,
                                     signed_head)
from mirror.node.ipni.chain import Chain, ChainChange, ChainHead, split_multihashes
from mirror.node.routing.multiaddr import url_to_multiaddr
from mirror.store.blockstore import BlockStore
from mirror.store.cid import CID, DAG_PB, IDENTITY
from mirror.store.dagpb import decode_node

CHUNK_ENTRIES = 16384          # multihashes per EntryChunk: ~1.1 MB of DAG-JSON (sha2-256)
MAX_AD_ENTRIES = 64 * CHUNK_ENTRIES   # per advertisement (IPNI: at most ~400 chunks)
MAX_MULTIHASH = 128            # bytes; longer ones are refused
MAX_KEY = 256                  # characters of a content key


@dataclass(frozen=True)
class HeldDag:
    """A content held here: the caller's key for it and the multihash of every block of its DAG."""

    key: str
    multihashes: Sequence[bytes]


def held_content(blocks: BlockStore, key: str, root: CID) -> HeldDag:
    """The HeldDag of the DAG under ROOT in BLOCKS: every block's multihash, root first, each
    once, identity blocks left out. Reads only the dag-pb nodes (leaves are only checked to be
    there); blocking, so run it in a worker thread. ``BlockNotFound`` when a block is missing:
    only what is held is advertised."""
    order: dict[bytes, None] = {}
    stack = [root]
    while stack:
        cid = stack.pop()
        if cid.multihash in order or cid.hash_code == IDENTITY:
            continue
        if not blocks.has(cid):
            raise BlockNotFound(cid, f"{cid} (under {root}) is not held here")
        order[cid.multihash] = None
        if cid.codec == DAG_PB:
            links = decode_node(blocks.get(cid)).links
            stack.extend(CID.from_bytes(link.hash) for link in reversed(links))
    return HeldDag(key, list(order))


@dataclass
class _Draft:
    """A publication being built: the blocks in chain order and the contents' new state."""

    head: CID | None
    count: int
    blocks: list[Block]
    dropped: list[str]
    advertised: list[tuple[str, bytes, bytes]]
    ads: list[CID]


class IpniPublisher:
    """The advertisement chain in STORE_DIR, signed by SIGNER for the provider at URLS.

    URLS are the node's public base URLs, or a function giving them (``ConfigError`` if one cannot
    be a provider address).
    ON_HEAD, if given, is called with each new head CID (an announcer: it must not block).
    """

    def __init__(self, store_dir: Path, signer: Signer, urls: Sequence[str] | Callable[[], Sequence[str]], *,
                 on_head: Callable[[CID], None] | None = None,
                 chunk_entries: int = CHUNK_ENTRIES, ad_entries: int = MAX_AD_ENTRIES) -> None:
        self.chain = Chain(store_dir)
        self.signer = signer
        self._urls = urls if callable(urls) else (lambda fixed=tuple(urls): fixed)
        if not callable(urls):
            _ = self.addrs                       # a URL that cannot be a provider fails here
        self.on_head = on_head
        self.chunk_entries, self.ad_entries = chunk_entries, ad_entries
        self._lock = asyncio.Lock()

    @property
    def addrs(self) -> list[str]:
        """The provider addresses of the node's URLs now (a node learns its port once it serves)."""
        return [url_to_multiaddr(u) for u in self._urls()]

    async def head(self) -> ChainHead | None:
        return await asyncio.to_thread(self.chain.head)

    async def chain_keys(self) -> set[str]:
        """The keys of the contents the chain advertises now."""
        return await asyncio.to_thread(self.chain.keys)

    async def block(self, cid: CID) -> bytes | None:
        """The exact bytes of an advertisement or entry chunk of the chain, or None."""
        return await asyncio.to_thread(self.chain.block, cid)

    async def publish(self, added: Iterable[HeldDag] = (), removed: Iterable[str] = ()) -> list[CID]:
        """Advertise ADDED, withdraw REMOVED; returns the new advertisements' CIDs, oldest first."""
        new = _checked(added)
        gone = [k for k in dict.fromkeys(removed) if isinstance(k, str) and len(k) <= MAX_KEY]
        async with self._lock:
            head = await asyncio.to_thread(self.chain.head)
            draft = await asyncio.to_thread(self._draft, head, new, gone)
            if not draft.ads:
                return []
            new_head = draft.ads[-1]
            signed = await asyncio.to_thread(signed_head, self.signer, new_head)
            change = ChainChange(draft.blocks, ChainHead(new_head, signed, draft.count), draft.dropped,
                            draft.advertised)
            await asyncio.to_thread(self.chain.apply, change, head.cid if head else None)
        if self.on_head is not None:
            self.on_head(new_head)
        return draft.ads

    async def reconcile(self, held: Mapping[str, CID], blocks: BlockStore, *,
                        batch: int = 1000) -> list[CID]:
        """Make the chain say what HELD says (content key -> root CID, every content held here
        now): advertise the contents not yet advertised, their blocks read from BLOCKS, at most
        BATCH per advertisement group, and withdraw those no longer held. Idempotent; safe to call
        after every change or on a timer. Returns the new advertisements' CIDs."""
        advertised = await self.chain_keys()
        new: list[CID] = []
        gone = [key for key in advertised if key not in held]
        if gone:
            new += await self.publish(removed=gone)
        fresh = [key for key in held if key not in advertised]
        for start in range(0, len(fresh), batch):
            keys = fresh[start:start + batch]
            contents = await asyncio.to_thread(held_dags, blocks, [(k, held[k]) for k in keys])
            new += await self.publish(added=contents)
        return new

    def _draft(self, head: ChainHead | None, new: list[HeldDag], gone: list[str]) -> _Draft:
        draft = _Draft(head.cid if head else None, head.count if head else 0, [], [], [], [])
        known = self.chain.contexts_of([c.key for c in new] + gone)
        fresh = [c for c in new if c.key not in known and c.key not in gone]
        survivors: list[HeldDag] = []
        for context in dict.fromkeys(known[k] for k in gone if k in known):
            self._append(draft, NO_ENTRIES, context, is_rm=True)
            for key, data in self.chain.members(context):
                draft.dropped.append(key)
                if key not in gone:
                    survivors.append(HeldDag(key, split_multihashes(data)))
        for group in _groups(survivors + fresh, self.ad_entries):
            self._advertise_group(draft, group)
        return draft

    def _advertise_group(self, draft: _Draft, group: list[HeldDag]) -> None:
        context = os.urandom(16)
        unique = list(dict.fromkeys(mh for content in group for mh in content.multihashes))
        for start in range(0, len(unique), self.ad_entries):
            chunks = entry_chunks(unique[start:start + self.ad_entries], self.chunk_entries)
            draft.blocks.extend(chunks)
            self._append(draft, chunks[0].cid, context, is_rm=False)
        draft.advertised.extend((c.key, context, b"".join(c.multihashes)) for c in group)

    def _append(self, draft: _Draft, entries: CID, context: bytes, *, is_rm: bool) -> None:
        ad = advertisement(self.signer, previous=draft.head, entries=entries, context=context,
                           addrs=self.addrs, is_rm=is_rm)
        draft.blocks.append(ad)
        draft.ads.append(ad.cid)
        draft.head = ad.cid
        draft.count += 1


def held_dags(blocks: BlockStore, pairs: list[tuple[str, CID]]) -> list[HeldDag]:
    """The HeldDag of each (key, root) whose DAG is complete in BLOCKS (others are skipped)."""
    out = []
    for key, root in pairs:
        try:
            out.append(held_content(blocks, key, root))
        except BlockNotFound:
            continue
    return out


def _checked(added: Iterable[HeldDag]) -> list[HeldDag]:
    """ADDED with one entry per key; a malformed key or multihash raises ``ValueError``."""
    out: dict[str, HeldDag] = {}
    for content in added:
        if not isinstance(content.key, str) or not 0 < len(content.key) <= MAX_KEY:
            raise ValueError("a content key is a string of 1 to 256 characters")
        if not content.multihashes:
            raise ValueError(f"content {content.key[:80]!r} names no block")
        for mh in content.multihashes:
            if not isinstance(mh, bytes) or not 2 < len(mh) <= MAX_MULTIHASH:
                raise ValueError(f"content {content.key[:80]!r}: not a multihash")
            if split_multihashes(mh) != [mh]:
                raise ValueError(f"content {content.key[:80]!r}: not a multihash")
        out.setdefault(content.key, content)
    return list(out.values())


def _groups(contents: list[HeldDag], limit: int) -> list[list[HeldDag]]:
    """CONTENTS in arrival order, cut into groups of at most LIMIT multihashes (a content bigger
    than LIMIT is a group of its own)."""
    groups: list[list[HeldDag]] = []
    size = 0
    for content in contents:
        if not groups or size + len(content.multihashes) > limit:
            groups.append([])
            size = 0
        groups[-1].append(content)
        size += len(content.multihashes)
    return groups
