"""The node's web pages and OAI-PMH provider at scale: latency over loopback, next to the index.

    python bench/web_speed.py                  # 100,000 documents
    python bench/web_speed.py --docs 20000     # quicker

What it does, in one run:
1. inserts N synthetic documents (a few pseudo-words of title, a short description, one file
   each, five collections) through ``Index.upsert_documents``;
2. serves them with the real routes (``mirror.node.web.routes.web_routes``) on 127.0.0.1 and, for the
   same 300 random one-word queries, times ``GET /?q=WORD`` end to end and the bare
   ``Index.search`` the page runs (the baseline, measured in the same run): the page's own cost
   is the difference (target: p50 overhead <= 5 ms);
3. times 300 document pages (``/doc/{cid}``) and the collection page;
4. harvests the whole list with OAI-PMH ``ListRecords`` (100 records a page, resumption tokens)
   and compares the time of the last ten pages with the first ten (target: ratio <= 1.5, a page
   costs the same at any depth).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web
from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from indexer.index import Index  # noqa: E402
from indexer.records import ContentIn, DocumentIn, SearchQuery  # noqa: E402
from mirror.home import Home  # noqa: E402
from mirror.node.web import routes as web_routes  # noqa: E402
from mirror.node.web.site import Site  # noqa: E402
from mirror.feed.identity import Identity  # noqa: E402
from mirror.node.web.pages import MARKS  # noqa: E402
from mirror.settings import Settings  # noqa: E402
from mirror.store import ContentStore, open_store  # noqa: E402

TARGET_OVERHEAD_MS = 5.0
TARGET_DEPTH_RATIO = 1.5
NS = "{http://www.openarchives.org/OAI/2.0/}"
_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "xe", "zu", "bra", "cle", "dri",
              "fen", "gor", "hal", "jun", "kel", "mar", "nor"]


@dataclass
class BenchNode:
    home: Home
    settings: Settings
    identity: Identity
    index: Index
    store: ContentStore
    url: str = ""


def words(rng: random.Random, count: int) -> list[str]:
    return ["".join(rng.choice(_SYLLABLES) for _ in range(3)) for _ in range(count)]


def documents(n: int, vocabulary: list[str], rng: random.Random) -> list[DocumentIn]:
    docs = []
    for i in range(n):
        content = ContentIn(sha256=f"{i:064x}", size=1000 + i, cid=f"bafkrei{i:052d}",
                            profile="unixfs-v1-2025", media_type="application/pdf",
                            name=f"file-{i}.pdf")
        docs.append(DocumentIn(collection=f"collection-{i % 5}", source_id=f"doc-{i}",
                               title=" ".join(rng.sample(vocabulary, 6)),
                               description=" ".join(rng.sample(vocabulary, 30)),
                               creators=["Ada Lovelace", "Charles Babbage"], date="2020",
                               license="CC-BY-4.0", contents=[content]))
    return docs


def quantiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {cuts[49]:7.2f} ms  p95 {cuts[94]:7.2f} ms  p99 {cuts[98]:7.2f} ms"


async def timed(http: ClientSession, url: str) -> tuple[float, bytes]:
    start = time.perf_counter()
    async with http.get(url) as resp:
        body = await resp.read()
        assert resp.status == 200, (url, resp.status)
    return (time.perf_counter() - start) * 1000, body


async def bench_search(node: BenchNode, http: ClientSession, queries: list[str]) -> None:
    pages, bare = [], []
    for word in queries:
        start = time.perf_counter()
        await node.index.search(SearchQuery(word, limit=21, marks=MARKS))
        bare.append((time.perf_counter() - start) * 1000)
        pages.append((await timed(http, f"{node.url}/?q={word}"))[0])
    overhead = statistics.median(pages) - statistics.median(bare)
    print(f"GET /?q=WORD      {quantiles(pages)}")
    print(f"Index.search      {quantiles(bare)}   (baseline)")
    print(f"page overhead     p50 {overhead:.2f} ms  (target <= {TARGET_OVERHEAD_MS} ms: "
          f"{'ok' if overhead <= TARGET_OVERHEAD_MS else 'MISSED'})")


async def bench_pages(node: BenchNode, http: ClientSession, n: int, rng: random.Random) -> None:
    docs = [(await timed(http, f"{node.url}/doc/bafkrei{rng.randrange(n):052d}"))[0]
            for _ in range(300)]
    print(f"GET /doc/CID      {quantiles(docs)}")
    collection = [(await timed(http, f"{node.url}/collection/collection-1"))[0] for _ in range(20)]
    print(f"GET /collection   first {collection[0]:.2f} ms, then p50 "
          f"{statistics.median(collection[1:]):.2f} ms (counts reused for 30 s)")


async def bench_oai(node: BenchNode, http: ClientSession) -> None:
    url = f"{node.url}/oai?verb=ListRecords&metadataPrefix=oai_dc"
    times, records = [], 0
    while True:
        elapsed, body = await timed(http, url)
        times.append(elapsed)
        root = etree.fromstring(body)
        records += len(root.findall(f".//{NS}record"))
        token = root.find(f".//{NS}resumptionToken")
        if token is None or not token.text:
            break
        url = f"{node.url}/oai?verb=ListRecords&resumptionToken={token.text}"
    first, last = statistics.median(times[1:11]), statistics.median(times[-11:-1])
    ratio = last / first
    print(f"OAI ListRecords   {records} records in {len(times)} pages, {sum(times) / 1000:.1f} s; "
          f"first pages p50 {first:.2f} ms, last pages p50 {last:.2f} ms")
    print(f"depth ratio       {ratio:.2f} (target <= {TARGET_DEPTH_RATIO}: "
          f"{'ok' if ratio <= TARGET_DEPTH_RATIO else 'MISSED'})")


async def main(args: Any) -> None:
    rng = random.Random(7)
    vocabulary = words(rng, 5000)
    with tempfile.TemporaryDirectory() as tmp:
        home = Home.open(Path(tmp) / "home")
        home.settings.set("node.oai_page_size", 100)
        node = BenchNode(home, home.settings, Identity.generate(), await Index.open(home.db_path),
                         open_store(home))
        start = time.perf_counter()
        docs = documents(args.docs, vocabulary, rng)
        for i in range(0, len(docs), 5000):
            await node.index.upsert_documents(docs[i:i + 5000])
        print(f"{args.docs} documents indexed in {time.perf_counter() - start:.1f} s")
        app = web.Application()
        web_routes.web_routes(app, Site(node.identity, node.index, node.store, node.settings,
                                        url=lambda: node.url))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        node.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            async with ClientSession() as http:
                for _ in range(20):                              # warm the caches
                    await timed(http, f"{node.url}/?q={rng.choice(vocabulary)}")
                await bench_search(node, http, [rng.choice(vocabulary) for _ in range(300)])
                await bench_pages(node, http, args.docs, rng)
                await bench_oai(node, http)
        finally:
            await runner.cleanup()
            await node.index.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    asyncio.run(main(parser.parse_args()))
