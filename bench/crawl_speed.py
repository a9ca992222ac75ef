"""Crawl throughput: ``openmirror mirror`` end to end against a bare aiohttp loop over the same URLs.

    python bench/crawl_speed.py                        # 5,000 x 20 KB, then 20 x 20 MB
    python bench/crawl_speed.py --small 1000 --big 5   # quicker

A local origin (its own process, bodies held in memory) serves a JSON Lines manifest listing the
documents, each openly licensed. For each size, in the same run:

* bare: a plain aiohttp loop reading and dropping every body, ``--concurrency`` in flight
  (no hashing, storing or indexing);
* the same loop hashing every byte twice (each 1 MiB block, and the whole body), as any
  content-addressed importer must: the floor this CPU sets, printed to read the ratio against;
* openmirror: ``openmirror mirror MANIFEST_URL`` as a child process on a fresh home, politeness
  lifted for the run (``--per-host`` = ``--concurrency``, ``--delay 0``, ``--ignore-robots``):
  fetch, licence gate, UnixFS import into the blockstore, text extraction, SQLite index, signed
  feed entries, checkpoints.

Prints documents/s and MB/s of both, the ratio (targets: >= 0.5x for small documents, >= 0.7x for
20 MB documents), the child's peak resident memory (bounded: it must not grow with the size of a
document or of the collection) and the machine's load average, which slows both sides.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"small": 20_000, "big": 20 * 10**6}
CHUNK = 1 << 20                # the block size of the default import profile (unixfs-v1-2025)


def body(kind: str, i: int) -> bytes:
    """A distinct body per document (identical bodies would be stored once and flatter the run)."""
    size = SIZES[kind]
    head = f"{kind} document {i}\n".encode()
    return head + (bytes(range(256)) * (size // 256 + 1))[: size - len(head)]


def serve(counts: dict[str, int], port_queue: "multiprocessing.Queue[int]") -> None:
    small = [body("small", i) for i in range(counts["small"])]
    big_base = body("big", 0)

    async def document(request: web.Request) -> web.Response:
        kind, i = request.match_info["kind"], int(request.match_info["i"])
        data = small[i] if kind == "small" else f"{i:08d}".encode() + big_base[8:]
        return web.Response(body=data, content_type="application/octet-stream")

    async def manifest(request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        lines = [json.dumps({"url": f"/{kind}/{i}", "license": "CC-BY-4.0",
                             "title": f"{kind} document {i}", "id": f"{kind}-{i}"})
                 for i in range(counts[kind])]
        return web.Response(text="\n".join(lines) + "\n", content_type="application/x-ndjson")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/{kind}/manifest.jsonl", manifest)
        app.router.add_get("/{kind}/{i:\\d+}", document)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port_queue.put(runner.addresses[0][1])
        await asyncio.Event().wait()

    asyncio.run(main())


async def bare(urls: list[str], concurrency: int) -> float:
    """Seconds for a plain aiohttp loop to read every body and drop it."""
    sem = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def one(url: str) -> None:
            async with sem, session.get(url) as resp:
                resp.raise_for_status()
                async for _ in resp.content.iter_any():
                    pass
        began = time.perf_counter()
        await asyncio.gather(*(one(u) for u in urls))
        return time.perf_counter() - began


async def hashed(urls: list[str], concurrency: int) -> float:
    """Seconds for the bare loop when it also hashes every byte twice, as any importer must (the
    sha256 of each block for its CID, and of the whole stream the index keys on), streaming as the
    bare loop does: this CPU's floor for a content-addressed mirror, whatever the rest of the code."""
    sem = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)

    def fold(whole: "hashlib._Hash", chunk: bytes) -> None:
        whole.update(chunk)
        hashlib.sha256(chunk).digest()

    async with aiohttp.ClientSession(connector=connector) as session:
        async def one(url: str) -> None:
            whole, pending = hashlib.sha256(), bytearray()
            async with sem, session.get(url) as resp:
                resp.raise_for_status()
                async for piece in resp.content.iter_any():
                    pending += piece
                    if len(pending) >= CHUNK:
                        chunk = bytes(pending[:CHUNK])
                        del pending[:CHUNK]
                        await asyncio.to_thread(fold, whole, chunk)
            fold(whole, bytes(pending))
        began = time.perf_counter()
        await asyncio.gather(*(one(u) for u in urls))
        return time.perf_counter() - began


def mirror(manifest_url: str, concurrency: int, home: Path) -> tuple[float, dict, float]:
    """Run ``openmirror mirror`` on a fresh HOME; (seconds, JSON summary, peak RSS MiB of the child)."""
    cmd = [sys.executable, "-m", "cli.main", "--home", str(home), "mirror", manifest_url,
           "--per-host", str(concurrency), "--concurrency", str(concurrency), "--delay", "0",
           "--ignore-robots", "--json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        began = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)        # wait4: this child's own peak memory
        seconds = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"openmirror mirror failed ({proc.returncode}): {stderr[-2000:]}")
    peak = usage.ru_maxrss / 1024
    return seconds, json.loads(stdout.strip().splitlines()[-1]), peak


def report(kind: str, count: int, t_bare: float, t_hashed: float, t_mirror: float, summary: dict,
           peak: float) -> None:
    mb = count * SIZES[kind] / 1e6
    t_run = float(summary["seconds"])
    print(f"{kind:>5}: {count} x {SIZES[kind] / 1e6:g} MB, {summary['stored']} stored, "
          f"{summary['failed']} failed")
    print(f"       bare aiohttp loop      {count / t_bare:8.0f} docs/s {mb / t_bare:7.1f} MB/s")
    print(f"       ... + 2 sha256 / byte  {count / t_hashed:8.0f} docs/s {mb / t_hashed:7.1f} MB/s"
          f"   ratio {t_bare / t_hashed:.2f}x  (the hashing floor on this CPU)")
    print(f"       openmirror mirror      {count / t_mirror:8.0f} docs/s {mb / t_mirror:7.1f} MB/s"
          f"   ratio {t_bare / t_mirror:.2f}x  (the whole process: start-up, migrations, exit)")
    print(f"         its harvest alone    {count / t_run:8.0f} docs/s {mb / t_run:7.1f} MB/s"
          f"   ratio {t_bare / t_run:.2f}x  (the summary's seconds)")
    print(f"       child peak RSS {peak:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=5000, help="number of 20 KB documents")
    parser.add_argument("--big", type=int, default=20, help="number of 20 MB documents")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    counts = {"small": args.small, "big": args.big}
    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(counts, ports), daemon=True)
    server.start()
    homes = Path(tempfile.mkdtemp(prefix="crawl-bench-"))
    try:
        port = ports.get(timeout=60)
        print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        for kind, count in counts.items():
            if count <= 0:
                continue
            urls = [f"http://127.0.0.1:{port}/{kind}/{i}" for i in range(count)]
            asyncio.run(bare(urls[: max(1, count // 10)], args.concurrency))      # warm up
            t_bare = asyncio.run(bare(urls, args.concurrency))
            t_hashed = asyncio.run(hashed(urls, args.concurrency))
            t_mirror, summary, peak = mirror(f"http://127.0.0.1:{port}/{kind}/manifest.jsonl",
                                             args.concurrency, homes / kind)
            report(kind, count, t_bare, t_hashed, t_mirror, summary, peak)
            shutil.rmtree(homes / kind, ignore_errors=True)
    finally:
        shutil.rmtree(homes, ignore_errors=True)
        server.terminate()
        server.join()


if __name__ == "__main__":
    main()
