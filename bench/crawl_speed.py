"""Crawl throughput: ``openmirror mirror`` end to end against download-then-pack (aria2c, ipfs-car).

    python bench/crawl_speed.py                        # 5,000 x 20 KB, then 20 x 20 MB
    python bench/crawl_speed.py --small 1000 --big 5   # quicker
    python bench/crawl_speed.py --repeat 3             # three rounds, then the median ratio

A local origin (its own process, bodies held in memory) serves a JSON Lines manifest listing the
documents, each openly licensed, by their full URLs. For each size, in the same run and alternating:

* the baseline a user would pick instead (issue 15): ``aria2c -j16 -i URLS`` into a folder, then
  ``ipfs-car pack FOLDER`` (CIDs of 1 MiB raw leaves, a CAR file), each a whole process, timed
  together; ``-j`` follows ``--concurrency``;
* openmirror: ``openmirror mirror MANIFEST_URL`` as a child process on a fresh home, politeness
  lifted for the run (``--per-host`` = ``--concurrency``, ``--delay 0``, ``--ignore-robots``):
  fetch, licence gate, UnixFS import into the blockstore (durable), text extraction, SQLite index,
  signed feed entries, checkpoints;
* for reference, a bare aiohttp loop reading and dropping every body (what the origin and one
  client process can do here), and the same loop hashing every byte twice (each 1 MiB block and
  the whole body, as the index keys content on the stream's sha256).

Prints documents/s and MB/s, the ratio baseline time / openmirror time (targets: >= 1.0x for 20 MB
documents, >= 1.5x for 20 KB documents), how much of openmirror's time was start-up and exit (the
whole process minus the harvest's own seconds), the child's peak resident memory and the load
average (other work on the machine slows both sides). Each process's CPU seconds (user + system,
its own and its children's) are printed too: on a machine shared with other work they move less
than the wall-clock seconds do.

Needs ``aria2c`` (Debian: ``apt-get install aria2``) and ``ipfs-car`` (npm), found on PATH or
installed beside this script with ``npm install --prefix bench/.tools ipfs-car@3.1.0``
(``bench/.tools`` is git-ignored); ``--ipfs-car PATH`` names another.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"small": 20_000, "big": 20 * 10**6}
TARGETS = {"small": 1.5, "big": 1.0}   # issue 15: openmirror's speed over the baseline's
TOOLS = ROOT / "bench" / ".tools"      # where ipfs-car may be installed for this bench
CHUNK = 1 << 20                # the block size of the default import profile (unixfs-v1-2025)


def body(kind: str, i: int) -> bytes:
    """A distinct body per document (identical bodies would be stored once and flatter the run)."""
    size = SIZES[kind]
    head = f"{kind} document {i}\n".encode()
    return head + (bytes(range(256)) * (size // 256 + 1))[: size - len(head)]


def serve(counts: dict[str, int], port_queue: "multiprocessing.Queue[int]") -> None:
    small = [body("small", i) for i in range(counts["small"])]
    big_base = body("big", 0)

    def big(i: int) -> bytes:
        """Every 1 MiB block distinct, within a document and across them (a block stored once
        for many documents would flatter the run: the base repeats every 256 bytes)."""
        return b"".join(f"{i:08d}.{k:05d}".encode() + big_base[k * CHUNK + 14:(k + 1) * CHUNK]
                        for k in range(-(-len(big_base) // CHUNK)))

    bigs = [big(i) for i in range(counts["big"])]   # made once: the origin only sends (400 MB)

    async def document(request: web.Request) -> web.Response:
        kind, i = request.match_info["kind"], int(request.match_info["i"])
        data = small[i] if kind == "small" else bigs[i]
        return web.Response(body=data, content_type="application/octet-stream")

    async def manifest(request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        base = f"http://{request.host}/{kind}"        # full URLs: a remote manifest names no paths
        lines = [json.dumps({"url": f"{base}/{i}", "license": "CC-BY-4.0",
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


def mirror(manifest_url: str, concurrency: int, home: Path) -> tuple[float, float, dict, float]:
    """Run ``openmirror mirror`` on a fresh HOME; (seconds, CPU seconds, JSON summary, peak RSS MiB
    of the child)."""
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
    return seconds, usage.ru_utime + usage.ru_stime, json.loads(stdout.strip().splitlines()[-1]), peak


def find_ipfs_car(given: str | None) -> str:
    """The ipfs-car command: GIVEN, on PATH, or installed under bench/.tools (see the docstring)."""
    for candidate in (given, shutil.which("ipfs-car"), str(TOOLS / "node_modules/.bin/ipfs-car")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise SystemExit("ipfs-car not found: npm install --prefix bench/.tools ipfs-car@3.1.0 "
                     "(or --ipfs-car PATH)")


def baseline(urls: list[str], concurrency: int, work: Path, ipfs_car: str) -> tuple[Timed, Timed]:
    """``aria2c -jN -i URLS`` into a fresh folder, then ``ipfs-car pack`` of it: each one's seconds
    and CPU seconds."""
    folder, listing = work / "download", work / "urls.txt"
    work.mkdir(parents=True)
    listing.write_text("\n".join(urls) + "\n")
    fetched = timed(["aria2c", f"-j{concurrency}", "-i", str(listing), "-d", str(folder), "-q"])
    packed = timed([ipfs_car, "pack", str(folder), "--output", str(work / "out.car")])
    if len(os.listdir(folder)) != len(urls):
        raise SystemExit(f"aria2c fetched {len(os.listdir(folder))} of {len(urls)} files")
    return fetched, packed


@dataclass
class Timed:
    seconds: float
    cpu: float                       # user + system seconds of the process and what it waited for


def timed(cmd: list[str]) -> Timed:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Timed(seconds, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)


@dataclass
class Round:
    """One round of one size: every side's seconds (and CPU seconds), openmirror's summary and
    peak RSS."""

    bare: float
    hashed: float
    aria2c: Timed
    ipfs_car: Timed
    mirror: Timed
    summary: dict
    peak: float

    @property
    def baseline(self) -> Timed:
        return Timed(self.aria2c.seconds + self.ipfs_car.seconds, self.aria2c.cpu + self.ipfs_car.cpu)

    @property
    def ratio(self) -> float:
        return self.baseline.seconds / self.mirror.seconds


def report(kind: str, count: int, r: Round) -> None:
    mb = count * SIZES[kind] / 1e6
    t_run = float(r.summary["seconds"])

    def line(label: str, side: float | Timed, note: str = "") -> None:
        seconds = side.seconds if isinstance(side, Timed) else side
        cpu = f"{side.cpu:6.2f} s CPU" if isinstance(side, Timed) else " " * 12
        print(f"       {label:<28}{count / seconds:8.0f} docs/s {mb / seconds:7.1f} MB/s "
              f"{seconds:7.2f} s {cpu}{note}")

    print(f"{kind:>5}: {count} x {SIZES[kind] / 1e6:g} MB, {r.summary['stored']} stored, "
          f"{r.summary['failed']} failed, load average {os.getloadavg()[0]:.2f}")
    line("bare aiohttp loop", r.bare)
    line("... + 2 sha256 per byte", r.hashed)
    line("aria2c", r.aria2c)
    line("ipfs-car pack", r.ipfs_car)
    line("baseline: aria2c + ipfs-car", r.baseline)
    line("openmirror mirror", r.mirror, f"   ratio {r.ratio:.2f}x  (whole process)")
    line("  its harvest alone", t_run, f"   ratio {r.baseline.seconds / t_run:.2f}x  (the summary's seconds)")
    print(f"       start-up and exit {r.mirror.seconds - t_run:.2f} s, child peak RSS {r.peak:.0f} MiB")


def one_round(kind: str, urls: list[str], manifest_url: str, concurrency: int, work: Path,
              ipfs_car: str) -> Round:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    t_bare = asyncio.run(bare(urls, concurrency))
    t_hashed = asyncio.run(hashed(urls, concurrency))
    t_aria, t_car = baseline(urls, concurrency, work / "baseline", ipfs_car)
    shutil.rmtree(work / "baseline")
    seconds, cpu, summary, peak = mirror(manifest_url, concurrency, work / "home")
    shutil.rmtree(work, ignore_errors=True)
    return Round(t_bare, t_hashed, t_aria, t_car, Timed(seconds, cpu), summary, peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=5000, help="number of 20 KB documents")
    parser.add_argument("--big", type=int, default=20, help="number of 20 MB documents")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=1, help="rounds per size (median ratio printed)")
    parser.add_argument("--ipfs-car", help="the ipfs-car command (default: PATH, then bench/.tools)")
    args = parser.parse_args()
    ipfs_car = find_ipfs_car(args.ipfs_car)
    if shutil.which("aria2c") is None:
        raise SystemExit("aria2c not found: apt-get install aria2")
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
            manifest_url = f"http://127.0.0.1:{port}/{kind}/manifest.jsonl"
            asyncio.run(bare(urls[: max(1, count // 10)], args.concurrency))      # warm up
            ratios = []
            for _ in range(args.repeat):
                r = one_round(kind, urls, manifest_url, args.concurrency, homes / kind, ipfs_car)
                report(kind, count, r)
                ratios.append(r.ratio)
            if args.repeat > 1:
                print(f"       ratios {', '.join(f'{x:.2f}' for x in ratios)}: median "
                      f"{statistics.median(ratios):.2f}x (target {TARGETS[kind]:.1f}x)")
    finally:
        shutil.rmtree(homes, ignore_errors=True)
        server.terminate()
        server.join()


if __name__ == "__main__":
    main()
