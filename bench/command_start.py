"""Command start-up: whole-process time of one-shot commands, next to bare Python and bare sqlite3.

    python bench/command_start.py                   # 3,000 documents, median of 15 runs
    python bench/command_start.py --docs 3000 --runs 25 --ref /tmp/base   # before/after
    python bench/command_start.py --docs 1000000 --home /tmp/big          # kept, built once

What it does, in one run:
1. builds a home holding N synthetic documents (``bench/index_scale.py``'s generator) through the
   wired index (signed entries, claims), as ``openmirror mirror`` would leave it;
2. times whole processes, alternating commands run after run so load on the machine hits all
   alike: ``python3 -c pass`` (the floor), a bare ``python3 -c`` that opens the same index file
   with ``sqlite3`` and runs the same FTS5 query as the search (the baseline of issue 15), and
   ``openmirror --help``, ``search``, ``show``, ``stats``, ``status`` (each as
   ``python -c "from cli.main import main; main()"``, what the ``openmirror`` script runs);
3. prints the median of each and its ratio against both baselines, and the targets of issue 15:
   ``--help`` and ``status`` within 0.25 s, ``search`` within 3x of the bare query.

``--ref DIR`` also times the same commands run from another checkout (say the main worktree with
its own venv, or an exported tree run with this venv's Python: ``git archive REV | tar -x -C DIR``),
in the same run, for before/after figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.index_scale import Generator  # noqa: E402
from mirror.home import Home  # noqa: E402
from mirror.services import open_home  # noqa: E402

TARGET_START = 0.25       # seconds: --help and status (issue 15)
TARGET_SEARCH_RATIO = 3.0  # search within this many times the bare sqlite3 query
BATCH = 500
QUERY = "open data"
BARE_QUERY = """
import sqlite3, sys
conn = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
rows = conn.execute("SELECT d.title, d.license, d.date FROM documents_fts f "
                    "JOIN documents d ON d.id = f.rowid WHERE documents_fts MATCH ? "
                    "ORDER BY rank LIMIT 20", (sys.argv[2],)).fetchall()
print(len(rows))
"""


async def build_home(path: Path, docs: int) -> tuple[str, str]:
    """A home at PATH holding DOCS documents; (a word to search for, a CID to show)."""
    home = Home.open(path)
    gen = Generator(seed=1)
    first = gen.document(0)
    async with open_home(home) as services:
        for start in range(0, docs, BATCH):
            batch = [gen.document(i) for i in range(max(1, start), min(docs, start + BATCH))]
            await services.index.upsert_documents(([first] if start == 0 else []) + batch)
    return first.title.split()[0].lower(), first.contents[0].cid or ""


def kept_home(path: Path, docs: int) -> tuple[str, str]:
    """``build_home`` once per PATH and DOCS: the word and CID are kept beside the home."""
    made = path / "bench-command-start.txt"
    kept = made.read_text().split("\n") if made.exists() else []
    if kept[:1] == [str(docs)]:
        return kept[1], kept[2]
    if path.exists() and any(path.iterdir()):
        raise SystemExit(f"{path} holds something else: name a new folder with --home")
    word, cid = asyncio.run(build_home(path, docs))
    made.write_text(f"{docs}\n{word}\n{cid}\n")
    return word, cid


def commands(python: str, home: Path, word: str, cid: str) -> dict[str, list[str]]:
    cli = [python, "-c", "from cli.main import main; main()"]
    return {
        "--help": cli + ["--help"],
        "search": cli + ["--home", str(home), "search", word],
        "show": cli + ["--home", str(home), "show", cid],
        "stats": cli + ["--home", str(home), "stats"],
        "status": cli + ["--home", str(home), "status"],
    }


# As installed, Python caches compiled modules (__pycache__); this machine's environment turns that
# off, which would add compiling every module to every start. Every job here runs with the cache,
# written by its warm-up run.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("OPENMIRROR_")}


def run_once(argv: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    spent = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[-3:])} failed ({done.returncode}): {done.stderr.decode()[-400:]}")
    return spent


def measure(jobs: dict[str, tuple[list[str], Path]], runs: int) -> dict[str, float]:
    """Median seconds of each job, the jobs interleaved run after run (one warm-up each)."""
    samples: dict[str, list[float]] = {name: [] for name in jobs}
    for round_ in range(runs + 1):
        for name, (argv, cwd) in jobs.items():
            spent = run_once(argv, cwd)
            if round_:
                samples[name].append(spent)
    return {name: statistics.median(values) for name, values in samples.items()}


def python_of(checkout: Path) -> str:
    venv = checkout / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=3_000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--ref", type=Path, help="another checkout to time beside this one (before/after)")
    ap.add_argument("--home", type=Path, help="build the home here and keep it; a later run with the "
                    "same --home and --docs reuses it (a home of 1,000,000 documents takes minutes)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp) / "home"
        word, cid = kept_home(home, args.docs) if args.home else asyncio.run(build_home(home, args.docs))
        python = python_of(ROOT)
        jobs: dict[str, tuple[list[str], Path]] = {
            "python3 -c pass": ([python, "-c", "pass"], ROOT),
            "bare sqlite3 FTS5 query": ([python, "-c", BARE_QUERY, str(home / "index.sqlite"), word], ROOT),
        }
        jobs |= {name: (argv, ROOT) for name, argv in commands(python, home, word, cid).items()}
        if args.ref is not None:
            ref = args.ref.resolve()
            jobs |= {f"{name} (ref)": (argv, ref)
                     for name, argv in commands(python_of(ref), home, word, cid).items()}
        medians = measure(jobs, args.runs)
    report(medians, args)


def report(medians: dict[str, float], args: argparse.Namespace) -> None:
    floor, bare = medians["python3 -c pass"], medians["bare sqlite3 FTS5 query"]
    print(f"documents  {args.docs:,}; median of {args.runs} runs each, interleaved; load "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(f"{'':28}{'seconds':>8}{'x pass':>8}{'x bare':>8}")
    for name, spent in medians.items():
        print(f"{name:28}{spent:8.3f}{spent / floor:8.2f}{spent / bare:8.2f}")
    for name in ("--help", "status"):
        spent = medians[name]
        print(f"target {name} <= {TARGET_START} s: {spent:.3f} s  {'ok' if spent <= TARGET_START else 'MISSED'}")
    ratio = medians["search"] / bare
    print(f"target search <= {TARGET_SEARCH_RATIO:.0f}x the bare query: {ratio:.2f}x  "
          f"{'ok' if ratio <= TARGET_SEARCH_RATIO else 'MISSED'}")


if __name__ == "__main__":
    main()
