"""Index at scale: bulk insert rate and search latency at N documents, next to raw sqlite3 FTS5.

    python bench/index_scale.py                 # 1,000,000 documents (several minutes)
    python bench/index_scale.py --docs 100000   # quicker

What it does, in one run:
1. generates N synthetic documents (title 5-12 words, abstract 40-120 words, two creators, two
   subjects, a licence, a year and one file each) from a fixed vocabulary of 20,000 pseudo-words
   with a seeded RNG; words are equally likely by default (``--zipf S`` weighs the word of rank r
   by r**-S instead: with S near 1 the most common words are in nearly every document, and a
   one-word query for one of them ranks most of the index, in raw FTS5 as in ours);
2. inserts them through the real index API (``Index.upsert_documents`` in batches) and reports
   documents per second (generation time excluded) and the database size;
3. writes the same rows into a plain sqlite3 database with an equivalent FTS5 table (same columns,
   tokenizer and BM25 weights), the baseline;
4. runs the same 1,000 random one- and two-word queries (words drawn uniformly from the
   vocabulary) with LIMIT 20 through ``Index.search`` (the code path of ``openmirror search``: query
   parsing, ranking, snippets, metadata) and through the bare ``MATCH ... ORDER BY rank LIMIT 20``
   on the baseline, and prints p50/p95/p99 of both and the ratios against the targets:
   insert >= 20,000 documents/s; search p99 <= 20 ms and within 3x of raw FTS5.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import itertools
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from indexer.index import Index  # noqa: E402
from indexer.records import ContentIn, DocumentIn, SearchQuery  # noqa: E402
from indexer.search import fts_query  # noqa: E402
from mirror.store.cid import CID, DAG_PB, RAW  # noqa: E402

CHUNK = 1 << 20          # the leaf size of the default profile: a file up to it is one raw block

TARGET_INSERT = 20_000
TARGET_P99_MS = 20.0
TARGET_RATIO = 3.0
VOCABULARY = 20_000
LICENSES = ["CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "CC-BY-NC-4.0", "MIT", "ODbL-1.0"]
_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "xe", "zu", "bra", "cle", "dri",
              "fen", "gor", "hal", "jun", "kel", "mar", "nor", "pel", "qui", "ros", "sul", "tor"]


def vocabulary(rng: random.Random) -> list[str]:
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


class Generator:
    """Seeded synthetic documents, one batch at a time.

    Texts are windows at random offsets into one long seeded Zipf-distributed token stream, which
    keeps generation cheap next to what is measured.
    """

    POOL = 4_000_000

    def __init__(self, seed: int, zipf: float = 0.0, abstract: tuple[int, int] = (40, 120)) -> None:
        self.rng = random.Random(seed)
        self.words = vocabulary(self.rng)
        self.rng.shuffle(self.words)                  # rank order independent of spelling
        cum = list(itertools.accumulate((r + 1) ** -zipf for r in range(VOCABULARY)))
        self.pool = self.rng.choices(self.words, cum_weights=cum, k=self.POOL)
        self.abstract = abstract

    def _text(self, low: int, high: int) -> str:
        k = self.rng.randint(low, high)
        start = self.rng.randrange(self.POOL - k)
        return " ".join(self.pool[start:start + k])

    def document(self, i: int) -> DocumentIn:
        sha = hashlib.sha256(i.to_bytes(8, "big")).hexdigest()
        size = self.rng.randint(10_000, 5_000_000)
        title = self._text(5, 12)
        return DocumentIn(
            collection="bench", source_id=f"doc-{i}", title=title[:1].upper() + title[1:],
            creators=[self._text(2, 2).title(), self._text(2, 2).title()],
            description=self._text(*self.abstract), subjects=[self._text(1, 1), self._text(1, 1)],
            language="en", date=str(self.rng.randint(1990, 2025)), type="article",
            source_url=f"https://example.org/doc/{i}.pdf", license=self.rng.choice(LICENSES),
            retrieved_at="2025-01-01T00:00:00Z", http_status=200,
            contents=[ContentIn(sha256=sha, size=size, cid=content_cid(sha, size), profile="unixfs-v1-2025",
                                media_type="application/pdf")])

    def queries(self, n: int) -> list[str]:
        return [" ".join(self.rng.sample(self.words, self.rng.choice((1, 2)))) for _ in range(n)]


def content_cid(sha256: str, size: int) -> str:
    """The CID a file of SIZE bytes with this SHA256 has under the default profile, as far as a
    claim can tell: a file of one block is its raw leaf (the digest is the sha256), a larger one a
    dag-pb root (a digest of its own, here made up: unverifiable, as a claim of a file not held)."""
    if size <= CHUNK:
        return str(CID(1, RAW, bytes([0x12, 0x20]) + bytes.fromhex(sha256)))
    return str(CID(1, DAG_PB, bytes([0x12, 0x20]) + hashlib.sha256(b"root " + bytes.fromhex(sha256)).digest()))


def raw_baseline(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript("""
        PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;
        CREATE TABLE docs (id INTEGER PRIMARY KEY, title, creators, description, subjects, text);
        CREATE VIRTUAL TABLE fts USING fts5(title, creators, description, subjects, text,
            content='docs', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
        INSERT INTO fts(fts, rank) VALUES ('rank', 'bm25(10.0, 4.0, 2.0, 3.0, 1.0)');
    """)
    return conn


def raw_insert(conn: sqlite3.Connection, first_id: int, docs: list[DocumentIn]) -> None:
    rows = [(first_id + n, d.title, "; ".join(d.creators), d.description, "; ".join(d.subjects),
             None) for n, d in enumerate(docs)]
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?)", rows)
    conn.execute("INSERT INTO fts(rowid, title, creators, description, subjects, text) "
                 "SELECT id, title, creators, description, subjects, text FROM docs WHERE id >= ?",
                 (first_id,))
    conn.execute("COMMIT")


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


async def load(index: Index, raw: sqlite3.Connection, gen: Generator, n: int,
               batch: int) -> tuple[float, float]:
    """Insert n documents into both; seconds spent in the index API and in raw sqlite3."""
    spent = raw_spent = 0.0
    for start in range(0, n, batch):
        docs = [gen.document(i) for i in range(start, min(n, start + batch))]
        t0 = time.perf_counter()
        await index.upsert_documents(docs)
        t1 = time.perf_counter()
        raw_insert(raw, start + 1, docs)
        spent, raw_spent = spent + t1 - t0, raw_spent + time.perf_counter() - t1
        done = start + len(docs)
        if done % (batch * 20) == 0 or done == n:
            print(f"  {done:>9,} documents  {done / spent:>8,.0f}/s via Index"
                  f"  {done / raw_spent:>8,.0f}/s raw sqlite3", file=sys.stderr)
    return spent, raw_spent


async def time_searches(index: Index, raw: sqlite3.Connection,
                        queries: list[str]) -> tuple[list[float], list[float]]:
    ours, bare = [], []
    sql = "SELECT rowid, rank FROM fts WHERE fts MATCH ? ORDER BY rank LIMIT 20"
    for q in queries[:50]:                            # warm both caches alike
        await index.search(SearchQuery(q))
        raw.execute(sql, (fts_query(q),)).fetchall()
    for q in queries:
        t0 = time.perf_counter()
        await index.search(SearchQuery(q))
        ours.append((time.perf_counter() - t0) * 1000)
    for q in queries:
        t0 = time.perf_counter()
        raw.execute(sql, (fts_query(q),)).fetchall()
        bare.append((time.perf_counter() - t0) * 1000)
    return ours, bare


def sha256_rate() -> float:
    """GB/s of sha256 on one core: how fast this machine is right now (STYLE.md: 1.95 quiet)."""
    data = bytes(1 << 25)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        hashlib.sha256(data).digest()
        best = min(best, time.perf_counter() - t0)
    return len(data) / best / 1e9


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=5_000)
    ap.add_argument("--queries", type=int, default=1_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--zipf", type=float, default=0.0, help="word frequency skew (0: uniform)")
    ap.add_argument("--abstract", default="40-120", help="abstract length in words, LOW-HIGH")
    ap.add_argument("--dir", type=Path, help="where to put the databases (default: a temp dir)")
    args = ap.parse_args()
    speed_before = sha256_rate()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        db, raw_db = Path(tmp) / "index.sqlite", Path(tmp) / "raw.sqlite"
        low, high = (int(n) for n in args.abstract.split("-"))
        gen = Generator(args.seed, args.zipf, (low, high))
        raw = raw_baseline(raw_db)
        async with await Index.open(db) as index:
            spent, raw_spent = await load(index, raw, gen, args.docs, args.batch)
            queries = gen.queries(args.queries)
            ours, bare = await time_searches(index, raw, queries)
            size = size_of(db)
        raw.close()
    rate, raw_rate = args.docs / spent, args.docs / raw_spent
    (p50, p95, p99), (r50, r95, r99) = percentiles(ours), percentiles(bare)
    print(f"documents              {args.docs:,} (batches of {args.batch:,}; abstracts of "
          f"{args.abstract} words, zipf {args.zipf})")
    print(f"load average           {' '.join(f'{x:.1f}' for x in os.getloadavg())} on "
          f"{os.cpu_count()} CPUs (other work on the machine slows both sides alike)")
    print(f"machine speed          sha256 {speed_before:.2f} GB/s before, {sha256_rate():.2f} after "
          "(1.95 on a quiet machine, STYLE.md)")
    print(f"insert via Index       {rate:,.0f} docs/s   target >= {TARGET_INSERT:,}: "
          f"{rate / TARGET_INSERT:.2f}x  {verdict(rate >= TARGET_INSERT)}")
    print(f"insert raw sqlite3     {raw_rate:,.0f} docs/s   (Index at {rate / raw_rate:.2f}x of raw)")
    print(f"database size          {size / 1e6:,.0f} MB ({size / args.docs:,.0f} bytes/document)")
    print(f"search via Index (ms)  p50 {p50:.2f}  p95 {p95:.2f}  p99 {p99:.2f}")
    print(f"search raw FTS5 (ms)   p50 {r50:.2f}  p95 {r95:.2f}  p99 {r99:.2f}")
    print(f"search p99 target <= {TARGET_P99_MS:.0f} ms: {p99:.2f} ms  {verdict(p99 <= TARGET_P99_MS)}")
    print(f"search p99 vs raw      {p99 / r99:.2f}x (p50 {p50 / r50:.2f}x)  target <= "
          f"{TARGET_RATIO:.0f}x: {verdict(p99 <= TARGET_RATIO * r99)}")


if __name__ == "__main__":
    asyncio.run(main())
