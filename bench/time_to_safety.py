"""Time to safety: how long 100 new documents published on one node take to be held by K = 3 nodes.

    python bench/time_to_safety.py [--documents 100] [--volunteers 4] [--size-kib 16]

Five nodes on 127.0.0.1 with DEFAULT settings (no interval is shortened): the origin runs in this
process, each volunteer in its own process (``Node(home, listen="127.0.0.1:0", peers=[origin])``,
as ``openmirror join ORIGIN`` runs it). Once every volunteer has synced with the origin, the origin
publishes N documents (random bytes, stored and indexed as ``openmirror add`` does); the clock
starts at the first one. A document is *safe* when K nodes hold it (the origin counts as one): read
from each volunteer's index file (``held_contents``: bound to a verified CID whose whole DAG is
there), polled every 50 ms.

Printed: the time until every document was safe, against the baseline of the same run, the sync
interval the nodes run with (``node.sync_interval``, 60 s by default, the pace of everything that
is pulled rather than pushed), the ratio of the two, and the target (<= 10 s, issue 15); then how
many copies exist once the network has settled (more than K of a content is bytes wasted).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer.records import ContentIn, DocumentIn  # noqa: E402
from mirror.home import Home  # noqa: E402
from mirror.node.app import Node  # noqa: E402

TARGET = 10.0
K = 3
SETTLE = 5.0                 # seconds watched after safety to count the copies made in excess


# --- a volunteer process -------------------------------------------------------------------------

async def serve(home_path: Path, peer: str) -> None:
    """Run one volunteer with default settings until killed; prints ``URL u`` once serving."""
    node = Node(Home.open(home_path), listen="127.0.0.1:0", peers=[peer])
    await node.start()
    print(f"URL {node.url}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await node.stop()


def start_volunteer(home: Path, origin: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(home), "--peer", origin],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("URL "):
        proc.kill()
        raise RuntimeError(f"volunteer did not start: {line!r}")
    return proc, line.split()[1]


# --- watching -------------------------------------------------------------------------------------

def held_by(homes: list[Path]) -> list[set[str]]:
    """The sha256s each home's index marks held (read-only, beside the running node)."""
    found = []
    for home in homes:
        conn = sqlite3.connect(f"file:{home / 'index.sqlite'}?mode=ro", uri=True, timeout=5)
        try:
            rows = conn.execute("SELECT c.sha256 FROM held_contents h "
                                "JOIN contents c ON c.id = h.content_id").fetchall()
        finally:
            conn.close()
        found.append({sha for (sha,) in rows})
    return found


async def publish(origin: Node, work: Path, count: int, size: int) -> list[str]:
    """Store and index COUNT documents of SIZE random bytes on ORIGIN; their sha256s."""
    shas = []
    for i in range(count):
        path = work / f"doc-{i}.bin"
        path.write_bytes(os.urandom(size))
        result = await asyncio.to_thread(origin.store.add_file, path)
        content = ContentIn(sha256=result.sha256, size=result.size, cid=str(result.cid),
                            profile=result.profile, media_type="application/octet-stream", name=path.name)
        await origin.index.upsert_document(DocumentIn(collection="reports", source_id=f"r{i}",
                                                      title=f"Report {i}", license="CC0-1.0",
                                                      contents=[content]))
        shas.append(result.sha256)
    return shas


async def watch(homes: list[Path], shas: list[str], started: float,
                timeout: float) -> tuple[dict[str, float], list[set[str]]]:
    """Seconds from STARTED until each of SHAS was held by K - 1 of HOMES (the origin is one)."""
    safe: dict[str, float] = {}
    held: list[set[str]] = []
    while len(safe) < len(shas) and time.monotonic() - started < timeout:
        held = await asyncio.to_thread(held_by, homes)
        now = time.monotonic() - started
        for sha in shas:
            if sha not in safe and sum(sha in h for h in held) >= K - 1:
                safe[sha] = now
        await asyncio.sleep(0.05)
    return safe, held


async def wait_joined(origin: Node, count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        peers = [p for p in await origin.book.all() if p.node_id]
        if len(peers) >= count:
            return
        await asyncio.sleep(0.1)
    raise SystemExit(f"only {len(peers)} of {count} volunteers reached the origin")


async def bench(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="safety-", dir=args.workdir) as tmp:
        work = Path(tmp)
        origin = Node(Home.open(work / "origin"), listen="127.0.0.1:0")
        await origin.start()
        procs: list[tuple[subprocess.Popen[str], str]] = []
        try:
            homes = [work / f"volunteer{i}" for i in range(args.volunteers)]
            procs = [start_volunteer(home, origin.url) for home in homes]
            await wait_joined(origin, args.volunteers)
            interval = float(origin.settings.node.sync_interval)
            print(f"{args.volunteers + 1} nodes on 127.0.0.1, default settings (sync interval "
                  f"{interval:.0f} s, holder timeout {origin.settings.node.holder_timeout:.0f} s, "
                  f"K = {origin.settings.node.copies}); publishing {args.documents} documents of "
                  f"{args.size_kib} KiB on the origin", flush=True)
            started = time.monotonic()
            shas = await publish(origin, work, args.documents, args.size_kib << 10)
            published = time.monotonic() - started
            safe, _ = await watch(homes, shas, started, args.timeout)
            await asyncio.sleep(SETTLE)
            held = await asyncio.to_thread(held_by, homes)
        finally:
            for proc, _url in procs:
                proc.terminate()
            for proc, _url in procs:
                proc.wait()
            await origin.stop()
    report(shas, safe, held, published, interval, args.timeout)


def report(shas: list[str], safe: dict[str, float], held: list[set[str]], published: float,
           interval: float, timeout: float) -> None:
    print(f"published in {published:.2f} s")
    if len(safe) < len(shas):
        print(f"only {len(safe)} of {len(shas)} documents reached {K} copies within {timeout:.0f} s"
              f"  BELOW TARGET")
        return
    times = sorted(safe.values())
    last = times[-1]
    print(f"time to {K} copies: first {times[0]:.2f} s, median {statistics.median(times):.2f} s, "
          f"last {last:.2f} s")
    verdict = "ok" if last <= TARGET else "BELOW TARGET"
    print(f"all {len(shas)} safe after {last:.2f} s = {last / interval:.3f} x the sync interval "
          f"({interval:.0f} s); target <= {TARGET:.0f} s: {verdict}")
    copies = [1 + sum(sha in h for h in held) for sha in shas]
    print(f"copies {SETTLE:.0f} s later: min {min(copies)}, max {max(copies)}, mean "
          f"{statistics.mean(copies):.2f} (K = {K}; the excess is bytes fetched for nothing)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--volunteers", type=int, default=4)
    parser.add_argument("--size-kib", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before giving up")
    parser.add_argument("--workdir", default=None, help="where the temporary homes go")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--peer", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        asyncio.run(serve(args.serve, args.peer))
    else:
        asyncio.run(bench(args))


if __name__ == "__main__":
    main()
