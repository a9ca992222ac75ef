"""Time to safety: how long 100 new documents published on one node take to be held by K = 3 nodes.

    python bench/time_to_safety.py [--documents 100] [--volunteers 4] [--size-kib 16] [--no-baseline]

Five nodes on 127.0.0.1 with DEFAULT settings (no interval is shortened): the origin runs in this
process, each volunteer in its own process (``Node(home, listen="127.0.0.1:0", peers=[origin])``,
as ``openmirror join ORIGIN`` runs it). Once every volunteer has synced with the origin, the origin
stores N documents (random bytes) and indexes them in one batch, as a harvest does; the clock
starts before the first is stored. A document is *safe* when K nodes hold it (the origin counts as
one): read from each volunteer's index file (``held_contents``: bound to a verified CID whose
whole DAG is there), polled every 50 ms.

Two runs, the same way: with pushes (``node.push = true``, the default: holdings announcements
pushed when they change, volunteers introduced at once), then the baseline, pull only
(``node.push = false``: what a node holds is learned at the next sync, every
``node.sync_interval``, 60 s by default, the old behaviour). Printed per run: the time until
the first, median and last document was safe and how many copies exist once the network has
settled (more than K of a content is bytes wasted); then the ratio of the two and the target
(<= 10 s, issue 15). With OPENMIRROR_BENCH_LOG set, every node logs to stderr (process id and
wall-clock time), and the moment of publishing is printed, to see where the seconds go.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer.records import ContentIn, DocumentIn  # noqa: E402
from mirror.home import Home  # noqa: E402
from mirror.node.app import Node  # noqa: E402
from mirror.settings import Settings  # noqa: E402

TARGET = 10.0
K = 3
SETTLE = 5.0                 # seconds watched after safety to count the copies made in excess


# --- a volunteer process -------------------------------------------------------------------------

async def serve(home_path: Path, peer: str) -> None:
    """Run one volunteer until killed; prints ``URL u`` once serving (its log on stderr with
    OPENMIRROR_BENCH_LOG set)."""
    if os.environ.get("OPENMIRROR_BENCH_LOG"):
        logging.basicConfig(level=logging.INFO, format="%(process)d %(created).3f %(name)s %(message)s")
    node = Node(Home.open(home_path), listen="127.0.0.1:0", peers=[peer])
    await node.start()
    print(f"URL {node.url}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await node.stop()


def start_volunteer(home: Path, origin: str, push: bool) -> tuple[subprocess.Popen[str], str]:
    env = os.environ | {"OPENMIRROR_NODE_PUSH": "true" if push else "false"}
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(home), "--peer", origin],
                            stdout=subprocess.PIPE, text=True, env=env)
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
    """Store COUNT documents of SIZE random bytes on ORIGIN and index them in one batch (as a
    harvest writes them); their sha256s."""
    docs, shas = [], []
    for i in range(count):
        path = work / f"doc-{i}.bin"
        path.write_bytes(os.urandom(size))
        result = await asyncio.to_thread(origin.store.add_file, path)
        content = ContentIn(sha256=result.sha256, size=result.size, cid=str(result.cid),
                            profile=result.profile, media_type="application/octet-stream", name=path.name)
        docs.append(DocumentIn(collection="reports", source_id=f"r{i}", title=f"Report {i}",
                               license="CC0-1.0", contents=[content]))
        shas.append(result.sha256)
    await origin.index.upsert_documents(docs)
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


@dataclass
class Run:
    label: str
    shas: list[str]
    safe: dict[str, float]
    held: list[set[str]]
    published: float


async def one_run(args: argparse.Namespace, push: bool) -> Run:
    """Publish on an origin with its volunteers, all with default settings but ``node.push``."""
    with tempfile.TemporaryDirectory(prefix="safety-", dir=args.workdir) as tmp:
        work = Path(tmp)
        home = Home.open(work / "origin")
        home.settings.set("node.push", push)
        origin = Node(home, listen="127.0.0.1:0")
        await origin.start()
        procs: list[tuple[subprocess.Popen[str], str]] = []
        try:
            homes = [work / f"volunteer{i}" for i in range(args.volunteers)]
            procs = [start_volunteer(h, origin.url, push) for h in homes]
            await wait_joined(origin, args.volunteers)
            started = time.monotonic()
            if os.environ.get("OPENMIRROR_BENCH_LOG"):
                print(f"PUBLISH {time.time():.3f}", file=sys.stderr, flush=True)
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
    return Run("pushed (node.push = true, the default)" if push else "pull only (node.push = false)",
               shas, safe, held, published)


async def bench(args: argparse.Namespace) -> None:
    settings = Settings()
    interval = float(settings.node.sync_interval)
    print(f"{args.volunteers + 1} nodes on 127.0.0.1, default settings (sync interval {interval:.0f} s, "
          f"holder timeout {float(settings.node.holder_timeout):.0f} s, K = {settings.node.copies}); "
          f"{args.documents} documents of {args.size_kib} KiB published on the origin in one batch",
          flush=True)
    pushed = await one_run(args, push=True)
    last = report(pushed, args.timeout)
    baseline = await one_run(args, push=False) if not args.no_baseline else None
    base = report(baseline, args.timeout) if baseline is not None else None
    print(f"sync interval: {interval:.0f} s")
    if last is not None:
        verdict = "ok" if last <= TARGET else "BELOW TARGET"
        print(f"pushed: {last:.2f} s = {last / interval:.3f} x the sync interval; target <= {TARGET:.0f} s: "
              f"{verdict}")
        if base is not None:
            print(f"pull only / pushed = {base / last:.1f}x")


def report(run: Run, timeout: float) -> float | None:
    """Print RUN; the seconds until every document was safe (None: not within TIMEOUT)."""
    print(f"{run.label}: published in {run.published:.2f} s", flush=True)
    if len(run.safe) < len(run.shas):
        print(f"  only {len(run.safe)} of {len(run.shas)} documents reached {K} copies within {timeout:.0f} s")
        return None
    times = sorted(run.safe.values())
    print(f"  time to {K} copies: first {times[0]:.2f} s, median {statistics.median(times):.2f} s, "
          f"last {times[-1]:.2f} s")
    copies = [1 + sum(sha in h for h in run.held) for sha in run.shas]
    print(f"  copies {SETTLE:.0f} s later: min {min(copies)}, max {max(copies)}, mean "
          f"{statistics.mean(copies):.2f} (K = {K}; the excess is bytes fetched for nothing)", flush=True)
    return times[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--volunteers", type=int, default=4)
    parser.add_argument("--size-kib", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before giving up")
    parser.add_argument("--workdir", default=None, help="where the temporary homes go")
    parser.add_argument("--no-baseline", action="store_true", help="skip the pull-only run")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--peer", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        asyncio.run(serve(args.serve, args.peer))
    else:
        asyncio.run(bench(args))


if __name__ == "__main__":
    main()
