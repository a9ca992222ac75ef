"""Multi-source retrieval: a fresh node's ``get`` time from 1, 2 and 4 holders at the same upload rate.

    python bench/swarm.py [--size-mib 200] [--rate-mib 10] [--holders 1,2,4] [--parallel 8]

One content of SIZE MiB (random bytes, default profile) is held by up to max(HOLDERS) holder
nodes. Each holder is its own process serving the real gateway over its own home, with the same
``node.upload_rate`` (RATE MiB/s). For each K in HOLDERS a fresh home runs the library call behind
``openmirror get`` (find holders, retrieve every block verified, write the file) against the
first K holders. Printed for each K: the ``get`` time (which includes writing the 200 MiB file,
a cost that does not shrink with K), the retrieval time alone, the speed-ups over one holder and
the target 0.8 x K (issue 6).

The machine has 2 cores, so the rate is kept low (4 x 10 MiB/s = 40 MiB/s in all; a retrieval
costs ~7 ms of client CPU and ~6 ms of holder CPU per MiB) to make the holders' upload limit, not
the CPU, the bottleneck; the CPU seconds used and the load average are printed to show it. Other
work on the machine (a test suite) skews the figures: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web  # noqa: E402

from mirror.home import Home  # noqa: E402
from mirror.node.gateway.routes import gateway_routes  # noqa: E402
from mirror.node.limits import limiter_for  # noqa: E402
from mirror.node.copies.get import get_content  # noqa: E402
from mirror.store import open_store  # noqa: E402

MiB = 1 << 20


# --- a holder process ----------------------------------------------------------------------

async def serve(home_path: Path, rate: int) -> None:
    """Serve the gateway of one home until killed; prints ``PORT n`` once listening."""
    home = Home.open(home_path)
    home.settings.set("node.upload_rate", rate)
    app = web.Application()
    gateway_routes(app, open_store(home), None, limiter_for(rate))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"PORT {site._server.sockets[0].getsockname()[1]}", flush=True)  # type: ignore[union-attr]
    await asyncio.Event().wait()


def start_holder(home: Path, rate: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(home), "--rate", str(rate)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("PORT "):
        proc.kill()
        raise RuntimeError(f"holder did not start: {line!r}")
    return proc, f"http://127.0.0.1:{line.split()[1]}"


# --- the benchmark -------------------------------------------------------------------------

def make_content(work: Path, size: int) -> tuple[Path, str]:
    path = work / "content.bin"
    digest = hashlib.sha256()
    with open(path, "wb") as fh:
        left = size
        while left:
            chunk = os.urandom(min(left, 4 * MiB))
            fh.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
    return path, digest.hexdigest()


def make_holders(work: Path, content: Path, count: int) -> tuple[list[Path], str]:
    """Import the content once; every holder home gets hard links to the same block files."""
    seed = Home.open(work / "seed")
    cid = open_store(seed).add_file(content).cid
    homes = []
    for i in range(count):
        home = Home.open(work / f"holder{i}")
        shutil.copytree(seed.blocks_dir, home.blocks_dir, dirs_exist_ok=True, copy_function=os.link,
                        ignore=shutil.ignore_patterns(".staging"))
        homes.append(home.path)
    return homes, str(cid)


async def fetch_once(work: Path, cid: str, urls: list[str], parallel: int,
                     expect: str) -> tuple[float, float]:
    from mirror.store.cid import CID

    home = Home.open(Path(tempfile.mkdtemp(dir=work, prefix="fresh-")))
    out = home.path / "out.bin"
    started = time.perf_counter()
    result = await get_content(home, CID.decode(cid), peers=urls, out=out)
    seconds = time.perf_counter() - started
    assert result.stats is not None and result.source == "peers"
    if await asyncio.to_thread(_sha256_file, out) != expect:
        raise SystemExit("the fetched file differs from the original")
    per = ", ".join(f"{b / MiB:.0f}" for b in result.stats.per_holder.values())
    print(f"  K={len(urls)}: get {seconds:6.2f} s, retrieval {result.stats.seconds:6.2f} s "
          f"({result.size / MiB / result.stats.seconds:5.1f} MiB/s; MiB per holder: {per}; "
          f"hedged {result.stats.hedged})", flush=True)
    shutil.rmtree(home.path)
    return seconds, result.stats.seconds


def _cpu_seconds(procs: list[tuple[subprocess.Popen[str], str]]) -> float:
    """User + system CPU seconds the holder processes used so far (Linux /proc; 0 elsewhere)."""
    total = 0.0
    for proc, _url in procs:
        try:
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(4 * MiB):
            digest.update(chunk)
    return digest.hexdigest()


async def bench(args: argparse.Namespace) -> None:
    counts = sorted({int(k) for k in args.holders.split(",")})
    rate = int(args.rate_mib * MiB)
    with tempfile.TemporaryDirectory(prefix="swarm-", dir=args.workdir) as tmp:
        work = Path(tmp)
        content, expect = make_content(work, int(args.size_mib * MiB))
        homes, cid = make_holders(work, content, max(counts))
        content.unlink()
        procs = [start_holder(home, rate) for home in homes]
        print(f"{args.size_mib} MiB content {cid}; every holder limited to {args.rate_mib} MiB/s "
              f"(node.upload_rate); parallel={args.parallel} per holder", flush=True)
        try:
            cpu0, held0 = resource.getrusage(resource.RUSAGE_SELF), _cpu_seconds(procs)
            times = {k: await fetch_once(work, cid, [url for _, url in procs[:k]], args.parallel, expect)
                     for k in counts}
            cpu1, held1 = resource.getrusage(resource.RUSAGE_SELF), _cpu_seconds(procs)
        finally:
            for proc, _url in procs:
                proc.terminate()
                proc.wait()
    get1, fetch1 = (t * counts[0] for t in times[counts[0]])
    print("\nholders  get s  speed-up  retrieval s  speed-up  target (0.8 x K)")
    for k in counts:
        get_k, fetch_k = times[k]
        verdict = "ok" if get1 / get_k >= 0.8 * k else "BELOW TARGET"
        print(f"{k:7d}  {get_k:5.1f}  {get1 / get_k:7.2f}x  {fetch_k:11.1f}  {fetch1 / fetch_k:7.2f}x  "
              f"{0.8 * k:5.1f}x  {verdict} (get)")
    client = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    served = held1 - held0
    wall = sum(get for get, _fetch in times.values())
    print(f"\nCPU: client {client:.1f} s, holder processes {served:.1f} s over "
          f"{wall:.1f} s of getting on {os.cpu_count()} cores; load average now "
          f"{os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=float, default=200)
    parser.add_argument("--rate-mib", type=float, default=10)
    parser.add_argument("--holders", default="1,2,4")
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--workdir", default=None, help="where the temporary homes go")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        asyncio.run(serve(args.serve, args.rate))
    else:
        asyncio.run(bench(args))


if __name__ == "__main__":
    main()
