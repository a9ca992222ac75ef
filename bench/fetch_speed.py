"""Fetcher throughput: ``Fetcher.fetch_file`` (decode, cap, stream to staging, sha256 off the loop)
against a bare aiohttp loop that reads and drops the same bodies, with the same concurrency; and
``fetch_file`` as the harvest calls it (a body of up to 256 KiB kept in memory, not hashed: the
import hashes it; a larger one imported as it arrives, ``mirror.body_import``, its blocks dropped).

    python bench/fetch_speed.py                          # 2,000 x 20 KB and 20 x 20 MB
    python bench/fetch_speed.py --small 5000 --big 40

The origin runs in a child process (one aiohttp handler returning bytes held in memory), so on a
2-core machine the client gets one core. Politeness limits are lifted for the run (per-host =
concurrency, no delay, robots off): this measures the fetch path, not the manners. Prints documents/s
and MB/s for both clients and the ratio; the issue's targets for the whole pipeline are >= 0.5x the
bare loop for small documents and >= 0.7x for 20 MB documents, so the fetcher alone should be near 1x.
Also prints the peak resident memory of the client process.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mirror.body_import import BodyImport  # noqa: E402
from mirror.fetch import Fetcher, FetchedFile  # noqa: E402
from mirror.ingest import SPOOL_BYTES  # noqa: E402
from mirror.settings import Settings  # noqa: E402
from mirror.store.blockstore import BlockStore  # noqa: E402
from mirror.store.profiles import DEFAULT_PROFILE, get_profile  # noqa: E402

from crawl_speed import SIZES, bare, serve  # noqa: E402  (same origin and bare loop)


async def fetcher_run(urls: list[str], concurrency: int, staging: Path, *, harvest: bool = False) -> float:
    """Seconds for ``Fetcher.fetch_file`` to stage and hash every body (files removed after); with
    HARVEST as the harvest calls it (small bodies in memory, not hashed; larger ones imported as
    they arrive into a blockstore batch, dropped after)."""
    settings = Settings(env={})
    store = BlockStore(staging / "blocks")
    profile = get_profile(DEFAULT_PROFILE)
    async with Fetcher(settings, staging, per_host=concurrency, delay=0.0, concurrency=concurrency,
                       obey_robots=False) as fetcher:
        async def one(url: str) -> None:
            if harvest:
                batch = store.open_batch()
                result = await fetcher.fetch_file(
                    url, digest=False, spool=SPOOL_BYTES,
                    into=lambda final, media: BodyImport(batch, profile, staging, media, final))
                await asyncio.to_thread(batch.abort)
            else:
                result = await fetcher.fetch_file(url)
            assert isinstance(result, FetchedFile)
            if result.path is not None:
                await asyncio.to_thread(result.path.unlink)
        began = time.perf_counter()
        await asyncio.gather(*(one(u) for u in urls))
        return time.perf_counter() - began


def report(kind: str, count: int, size: int, t_bare: float, t_fetch: float, t_harvest: float) -> None:
    mb = count * size / 1e6
    print(f"{kind:>5}: {count} x {size / 1e6:g} MB | bare aiohttp {count / t_bare:8.0f} docs/s "
          f"{mb / t_bare:7.0f} MB/s")
    print(f"       Fetcher, staged and hashed {count / t_fetch:8.0f} docs/s {mb / t_fetch:7.0f} MB/s "
          f"| ratio {t_bare / t_fetch:.2f}x")
    print(f"       Fetcher, as the harvest    {count / t_harvest:8.0f} docs/s {mb / t_harvest:7.0f} MB/s "
          f"| ratio {t_bare / t_harvest:.2f}x")


async def run(args: argparse.Namespace, port: int) -> None:
    staging = Path(tempfile.mkdtemp(prefix="fetch-bench-"))
    try:
        for kind, count in (("small", args.small), ("big", args.big)):
            urls = [f"http://127.0.0.1:{port}/{kind}/{i}" for i in range(count)]
            await bare(urls[: max(1, count // 10)], args.concurrency)  # warm up
            t_bare = await bare(urls, args.concurrency)
            t_fetch = await fetcher_run(urls, args.concurrency, staging)
            t_harvest = await fetcher_run(urls, args.concurrency, staging, harvest=True)
            report(kind, count, SIZES[kind], t_bare, t_fetch, t_harvest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of the client process: {peak:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=2000, help="number of 20 KB documents")
    parser.add_argument("--big", type=int, default=20, help="number of 20 MB documents")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    counts = {"small": args.small, "big": args.big}
    server = multiprocessing.Process(target=serve, args=(counts, ports), daemon=True)
    server.start()
    try:
        asyncio.run(run(args, ports.get(timeout=30)))
    finally:
        server.terminate()
        server.join()


if __name__ == "__main__":
    main()
