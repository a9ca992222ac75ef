"""Sync at scale: a fresh node pulling a large feed, a delta sync, and notify latency along a chain.

    python bench/sync_scale.py                      # 1,000,000 entries (tens of minutes on 2 cores)
    python bench/sync_scale.py --entries 100000     # quicker

What it does, in one run:
1. node A: N documents written through the real feed API (``open_home`` + ``upsert_documents``
   in batches of 1,000, so every document is one signed entry committed with it); the documents
   are the Zenodo-like records of ``bench/entry_speed.py``;
2. A runs as its own process (``openmirror serve``); a fresh node B syncs from it over loopback
   (HTTP, pages of 1,000). Printed: the full-sync time as a ratio to the baseline measured in the
   same run, just before and just after the sync (their mean): the same documents bulk-loaded into
   an empty index with raw ``sqlite3`` (documents, contents and their links in one transaction of
   executemany inserts, rows built before the clock starts) and one FTS5 rebuild (target: <= 2x);
   the bytes received, next to the size of the
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
import sqlite3
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
from indexer.migrate import upgrade  # noqa: E402
from indexer.records import DocumentIn  # noqa: E402
from indexer.write import fingerprint  # noqa: E402
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


def bulk_rows(rows: list[tuple[bytes, bytes]]) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """The documents the put entries of ROWS carry, as rows of documents, contents and
    document_contents (ids from 1), built before the baseline's clock starts."""
    now = "2025-01-01T00:00:00.000000Z"
    docs, contents, links, content_ids = [], [], [], {}
    for payload, _signature in rows:
        obj = json.loads(payload)
        if obj["kind"] != "put":
            continue
        doc = DocumentIn.from_dict(obj["body"])
        doc_id = len(docs) + 1
        docs.append((doc_id, 1, doc.source_id, doc.title, json.dumps(doc.creators, ensure_ascii=False),
                     doc.description, json.dumps(doc.subjects, ensure_ascii=False), doc.language,
                     doc.date, doc.type, doc.source_url, doc.landing_url, doc.license, doc.license_url,
                     doc.license_statement, doc.retrieved_at, doc.http_status,
                     json.dumps(doc.http_headers, ensure_ascii=False), doc.raw_record, 0,
                     fingerprint(doc), now, 0))                       # ..., deleted, ..., private
        for position, c in enumerate(doc.contents):
            if c.sha256 not in content_ids:
                content_ids[c.sha256] = len(content_ids) + 1
                contents.append((content_ids[c.sha256], c.sha256, c.size, c.media_type, c.cid,
                                 c.profile, now))
            links.append((doc_id, position, content_ids[c.sha256], c.name, c.url))
    return docs, contents, links


def bulk_baseline(rows: list[tuple[bytes, bytes]], path: Path) -> float:
    """Seconds to load the documents of ROWS into an empty index (the schema ``Index.open``
    creates) with raw ``sqlite3``: one transaction of executemany inserts, then one FTS5 rebuild.
    What a fresh node's full sync is compared with."""
    docs, contents, links = bulk_rows(rows)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    upgrade(path)
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "cache_size = -65536",
                   "temp_store = MEMORY"):
        db.execute(f"PRAGMA {pragma}")
    began = time.perf_counter()
    db.execute("BEGIN")
    db.execute("INSERT INTO collections (id, name, created_at, updated_at) VALUES (1, 'zenodo', '', '')")
    db.executemany(f"INSERT INTO documents VALUES ({', '.join('?' * len(docs[0]))})", docs)
    db.executemany("INSERT INTO contents (id, sha256, size, media_type, cid, profile, created_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)", contents)
    db.executemany("INSERT INTO document_contents (document_id, position, content_id, name, url) "
                   "VALUES (?, ?, ?, ?, ?)", links)
    db.execute("INSERT INTO documents_fts(documents_fts) VALUES ('rebuild')")
    db.execute("COMMIT")
    seconds = time.perf_counter() - began
    db.close()
    return seconds


@asynccontextmanager
async def serving(home: Home) -> AsyncIterator[tuple[str, str, int]]:
    """Node A as its own process (``openmirror serve``), as in a real deployment; (url, node id,
    process id)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}
    env.update(OPENMIRROR_NODE_RATE_LIMIT="0", OPENMIRROR_NODE_SYNC_INTERVAL="600",
               OPENMIRROR_NODE_PEER_EXCHANGE="false", PYTHONPATH=str(ROOT))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", "--home", str(home.path), "-q", "serve", "--listen",
        "127.0.0.1:0", "--json", cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE)
    try:
        ready = json.loads(await asyncio.wait_for(proc.stdout.readline(), 120))
        yield ready["url"], ready["node_id"], proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        await proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process PID used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def sync_once(home: Home, url: str, server_pid: int) -> tuple[float, int, int]:
    node = Node(home, peers=[url], **QUIET)
    await node.open()
    try:
        began, cpu, served = time.perf_counter(), time.process_time(), cpu_seconds(server_pid)
        report = (await node.sync_all())[0]
        if report.error:
            raise SystemExit(f"sync failed: {report.error}")
        seconds = time.perf_counter() - began
        log(f"  ({seconds:.1f}s: {time.process_time() - cpu:.1f} CPU-s in the syncing node, "
            f"{cpu_seconds(server_pid) - served:.1f} in the serving one; load average "
            f"{os.getloadavg()[0]:.1f})")
        return seconds, report.bytes, report.entries
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
    async with serving(home_a) as (url, author, pid):
        rows = await read_feed(home_a, author)
        baseline = jsonl_zstd(rows)
        bulk = bulk_baseline(rows, root / "bulk.db")
        seconds, received, entries = await sync_once(home_b, url, pid)
        bulk_after = bulk_baseline(rows, root / "bulk.db")
        log(f"baseline: the same {len(rows):,} documents loaded with raw sqlite3 + one FTS5 rebuild in "
            f"{bulk:.1f}s before the sync and {bulk_after:.1f}s after it")
        log(f"full sync: {entries:,} entries in {seconds:.1f}s ({entries / seconds:,.0f}/s) = "
            f"{seconds / ((bulk + bulk_after) / 2):.2f}x the baseline (target <= 2x); "
            f"{received:,} bytes = {received / baseline:.2f}x the zstd JSON Lines ({baseline:,} bytes; "
            "target <= 1.5x)")
        check = verify_only(rows, author)
        log(f"decode + verify alone: {check:.1f}s ({len(rows) / check:,.0f}/s); "
            f"sync / verify = {seconds / check:.1f}x")
        if args.delta > 0:
            await fill(home_a, len(rows), args.delta, seed=2)   # new documents, even with --reuse
            new = (await read_feed(home_a, author, after=len(rows)))
            own = sum(len(p) + len(s) for p, s in new)
            seconds, received, entries = await sync_once(home_b, url, pid)
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
