"""Sync at scale: a fresh node pulling a large feed, a delta sync, and notify latency along a chain.

    python bench/sync_scale.py                      # 1,000,000 entries (tens of minutes on 2 cores)
    python bench/sync_scale.py --entries 100000     # quicker

What it does, in one run:
1. node A: N documents written through the real feed API (``open_home`` + ``upsert_documents``
   in batches of 1,000, so every document is one signed entry committed with it); the documents
   are the Zenodo-like records of ``bench/entry_speed.py``;
2. A runs as its own process (``openmirror serve``); a fresh node B syncs from it over loopback
   (HTTP, pages of 1,000). Printed: the full-sync time and bytes received, next to the size of the
   same entries as one zstd-compressed JSON Lines stream (payload fields plus base64 signature;
   target: bytes <= 1.5x), and the time the same pages take to decode and verify alone (what a
   sync cannot go below);
3. 1,000 new documents on A (written by this process while A serves); B syncs again. Printed:
   delta bytes and time next to the new entries' own size (payload + signature; target: bytes
   <= 2x, whatever the size of the index);
4. ten fresh nodes in a chain, each joined to the one before (peer exchange off, sync interval
   10 minutes, so only notifies can carry an entry): the time for a new entry written on the first
   to be searchable on the last (target: a few seconds).

Wall-clock figures depend on the load of the machine; the load average is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from entry_speed import synthetic_document  # noqa: E402

from indexer import feeds  # noqa: E402
from indexer.records import SearchQuery  # noqa: E402
from mirror.home import Home  # noqa: E402
from mirror.node.app import Node  # noqa: E402
from mirror.feed.codec import decode_page, encode_page  # noqa: E402
from mirror.feed.entry import verify_chain  # noqa: E402
from mirror.services import open_home  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BATCH = 1000
QUIET = {"rate_limit": 0, "sync_interval": 600.0, "peer_exchange": False}


def log(message: str) -> None:
    print(message, flush=True)


async def fill(home: Home, start: int, count: int, seed: int = 1) -> float:
    """Write COUNT documents to HOME through the feed API; returns seconds."""
    rng = random.Random(seed + start)
    async with open_home(home) as services:
        began = time.perf_counter()
        for lo in range(start, start + count, BATCH):
            docs = [synthetic_document(i, rng) for i in range(lo, min(lo + BATCH, start + count))]
            await services.index.upsert_documents(docs)
            if (lo - start) % 100_000 == 0 and lo > start:
                log(f"  … {lo - start:,} written ({(lo - start) / (time.perf_counter() - began):,.0f}/s)")
    return time.perf_counter() - began


async def written(home: Home) -> int:
    """How many entries A's own feed holds (a --reuse run writes only the rest)."""
    async with open_home(home, read_only=True) as services, services.index.read() as conn:
        return (await feeds.get_head(conn, services.identity.node_id)).seq


async def read_feed(home: Home, author: str, after: int = 0) -> list[tuple[bytes, bytes]]:
    rows: list[tuple[bytes, bytes]] = []
    async with open_home(home, read_only=True) as services:
        while True:
            async with services.index.read() as conn:
                page = await feeds.read_entries(conn, author, after + len(rows), 5000)
            rows += page
            if len(page) < 5000:
                return rows


def jsonl_zstd(rows: list[tuple[bytes, bytes]]) -> int:
    """The entries as zstd JSON Lines: the payload object plus its base64 signature."""
    compressor = zstandard.ZstdCompressor(level=3).compressobj()
    size = 0
    for payload, signature in rows:
        line = json.dumps({**json.loads(payload), "sig": base64.b64encode(signature).decode()},
                          separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
        size += len(compressor.compress(line))
    return size + len(compressor.flush())


def verify_only(rows: list[tuple[bytes, bytes]], author: str) -> float:
    """Seconds to decode and verify the feed as pages of 1,000 (pages encoded beforehand)."""
    pages = [encode_page(rows[i:i + BATCH]) for i in range(0, len(rows), BATCH)]
    began = time.perf_counter()
    seq, head, ts = 0, None, None
    for body in pages:
        page = decode_page(body, max_entries=BATCH, max_bytes=32 << 20)
        verify_chain(page, author=author, after_seq=seq, after_hash=head, after_ts=ts)
        seq, head, ts = page[-1].seq, page[-1].hash, page[-1].ts
    return time.perf_counter() - began


@asynccontextmanager
async def serving(home: Home) -> AsyncIterator[tuple[str, str]]:
    """Node A as its own process (``openmirror serve``), as in a real deployment; (url, node id)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}
    env.update(OPENMIRROR_NODE_RATE_LIMIT="0", OPENMIRROR_NODE_SYNC_INTERVAL="600",
               OPENMIRROR_NODE_PEER_EXCHANGE="false", PYTHONPATH=str(ROOT))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", "--home", str(home.path), "-q", "serve", "--listen",
        "127.0.0.1:0", "--json", cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE)
    try:
        ready = json.loads(await asyncio.wait_for(proc.stdout.readline(), 120))
        yield ready["url"], ready["node_id"]
    finally:
        proc.send_signal(signal.SIGTERM)
        await proc.wait()


async def sync_once(home: Home, url: str) -> tuple[float, int, int]:
    node = Node(home, peers=[url], **QUIET)
    await node.open()
    try:
        began = time.perf_counter()
        report = (await node.sync_all())[0]
        if report.error:
            raise SystemExit(f"sync failed: {report.error}")
        return time.perf_counter() - began, report.bytes, report.entries
    finally:
        await node.stop()


async def chain_latency(root: Path, length: int) -> float:
    chain: list[Node] = []
    try:
        for i in range(length):
            peers = [chain[-1].url] if chain else []
            node = Node(Home.open(root / f"chain{i}"), listen="127.0.0.1:0", peers=peers, **QUIET)
            await node.start()
            chain.append(node)
        for up, down in zip(chain, chain[1:]):
            while await up.book.get(down.url) is None:
                await asyncio.sleep(0.05)
        began = time.perf_counter()
        doc = synthetic_document(10**9, random.Random(7))
        doc.title = "Chainmarker survey"
        await chain[0].index.upsert_document(doc)
        while not await chain[-1].index.search(SearchQuery("chainmarker")):
            await asyncio.sleep(0.01)
        return time.perf_counter() - began
    finally:
        for node in chain:
            await node.stop()


async def main(args: argparse.Namespace) -> None:
    root = Path(args.dir or tempfile.mkdtemp(prefix="om-sync-"))
    log(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; work dir {root}")
    shutil.rmtree(root / "b", ignore_errors=True)      # B starts empty on every run, even with --reuse
    home_a, home_b = Home.open(root / "a"), Home.open(root / "b")
    have = await written(home_a) if args.reuse and home_a.db_path.exists() else 0
    if have < args.entries:
        seconds = await fill(home_a, have, args.entries - have)
        log(f"A: {args.entries - have:,} documents written through the feed API in {seconds:.1f}s "
            f"({(args.entries - have) / seconds:,.0f}/s), {args.entries:,} in all")
    async with serving(home_a) as (url, author):
        rows = await read_feed(home_a, author)
        baseline = jsonl_zstd(rows)
        seconds, received, entries = await sync_once(home_b, url)
        log(f"full sync: {entries:,} entries in {seconds:.1f}s ({entries / seconds:,.0f}/s), "
            f"{received:,} bytes = {received / baseline:.2f}x the zstd JSON Lines ({baseline:,} bytes; "
            "target <= 1.5x)")
        check = verify_only(rows, author)
        log(f"decode + verify alone: {check:.1f}s ({len(rows) / check:,.0f}/s); "
            f"sync / verify = {seconds / check:.1f}x")
        if args.delta > 0:
            await fill(home_a, args.entries, args.delta, seed=2)
            new = (await read_feed(home_a, author, after=len(rows)))
            own = sum(len(p) + len(s) for p, s in new)
            seconds, received, entries = await sync_once(home_b, url)
            log(f"delta sync: {entries:,} entries in {seconds:.2f}s, {received:,} bytes = "
                f"{received / own:.2f}x the new entries' own size ({own:,} bytes; target <= 2x)")
    if args.chain >= 2:
        latency = await chain_latency(root, args.chain)
        log(f"chain of {args.chain} nodes: a new entry on the first is searchable on the last after "
            f"{latency:.2f}s ({latency / (args.chain - 1) * 1000:.0f} ms per hop)")
    if not args.dir and not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--delta", type=int, default=1000, help="entries of the delta sync (0: none)")
    parser.add_argument("--chain", type=int, default=10, help="nodes in the notify chain (under 2: none)")
    parser.add_argument("--dir", help="work folder (kept); default a temporary one")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse node A from --dir if present (writing only the entries it lacks)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work folder")
    asyncio.run(main(parser.parse_args()))
