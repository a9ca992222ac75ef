"""Memory of an idle node: the resident size of a serving node whose index holds N contents.

    python bench/idle_memory.py [--contents 1000000] [--settle 20]

A home is filled with synthetic rows (raw SQL, so filling is quick: N contents, each with one live
document and marked held here, as a node that replicated them would have them). A node is started
on it in its own process (``openmirror serve`` with default settings, listening on 127.0.0.1), and
left alone: once it answers ``/api/v1/status`` its resident size (VmRSS) is sampled every second
for SETTLE seconds while its start-up work (held checks, measuring the held contents' sizes once,
its first announcement, replication and IPNI rounds) runs and ends, then ``/api/v1/status`` is
asked again; printed are the resident size every 10 s, at the end (after that status call) and
the peak (VmHWM).

Baselines of the same run: a bare ``python3`` process that imports nothing of ours and reads the
same SQLite file (``SELECT count(*)`` of the held contents), and the same process once it holds
the N held sha256s as a Python set (what a node that kept its held set as Python objects would
carry). Target (issue 15): <= 300 MB for 1,000,000 contents.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer import migrate  # noqa: E402

TARGET = 300 * 2**20
NOW = "2026-11-21T00:00:00.000000Z"
CHUNK = 50_000


def fill(db: Path, count: int) -> None:
    """COUNT contents with one live document each, all marked held (raw SQL, chunked)."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("INSERT INTO collections (id, name, created_at, updated_at) VALUES (1, 'c', ?, ?)", (NOW, NOW))
    for start in range(1, count + 1, CHUNK):
        ids = range(start, min(count, start + CHUNK - 1) + 1)
        shas = {i: hashlib.sha256(str(i).encode()).hexdigest() for i in ids}
        conn.executemany("INSERT INTO contents (id, sha256, size, cid, profile, created_at) "
                         "VALUES (?, ?, 20000, ?, 'unixfs-v1-2025', ?)",
                         ((i, s, "bafkrei" + s[:52], NOW) for i, s in shas.items()))
        conn.executemany("INSERT INTO documents (id, collection_id, source_id, title, creators, description, "
                         "subjects, license, http_headers, deleted, fingerprint, updated_at) "
                         "VALUES (?, 1, ?, 't', '[]', '', '[]', 'CC-BY-4.0', '{}', 0, 'f', ?)",
                         ((i, f"s{i}", NOW) for i in ids))
        conn.executemany("INSERT INTO document_contents (document_id, position, content_id) VALUES (?, 0, ?)",
                         ((i, i) for i in ids))
        conn.executemany("INSERT INTO held_contents (content_id, checked_at) VALUES (?, ?)",
                         ((i, NOW) for i in ids))
        conn.commit()
    conn.close()


def rss(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of PID in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields["VmRSS"], fields["VmHWM"]


BASELINE = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
print(conn.execute("SELECT count(*) FROM held_contents").fetchone()[0], flush=True)
sys.stdin.readline()
held = {s for (s,) in conn.execute("SELECT c.sha256 FROM held_contents h JOIN contents c ON c.id = h.content_id")}
print(len(held), flush=True)
sys.stdin.readline()
"""


def baseline(db: Path) -> tuple[int, int]:
    """(RSS of a bare python reading DB, RSS once it holds the held sha256s as a set)."""
    proc = subprocess.Popen([sys.executable, "-c", BASELINE, str(db)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdout.readline()
    bare = rss(proc.pid)[0]
    proc.stdin.write("\n")
    proc.stdin.flush()
    proc.stdout.readline()
    as_set = rss(proc.pid)[0]
    proc.stdin.write("\n")
    proc.stdin.flush()
    proc.wait()
    return bare, as_set


def serve(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}
    return subprocess.Popen([sys.executable, "-m", "cli.main", "--home", str(home), "serve",
                             "--listen", f"127.0.0.1:{port}"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_serving(url: str, proc: subprocess.Popen[bytes], timeout: float = 600.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the node exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/api/v1/status", timeout=60) as resp:
                return dict(json.load(resp))
        except OSError:
            time.sleep(0.5)
    raise SystemExit("the node did not answer")


def free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contents", type=int, default=1_000_000)
    parser.add_argument("--settle", type=float, default=20.0, help="seconds watched once serving")
    parser.add_argument("--workdir", default=None, help="where the temporary home goes")
    args = parser.parse_args()
    mib = 2**20
    with tempfile.TemporaryDirectory(prefix="idle-", dir=args.workdir) as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        db = home / "index.sqlite"
        began = time.monotonic()
        migrate.upgrade(db)
        fill(db, args.contents)
        print(f"{args.contents:,} contents held, filled in {time.monotonic() - began:.0f} s", flush=True)
        bare, as_set = baseline(db)
        port = free_port()
        proc = serve(home, port)
        try:
            status = wait_serving(f"http://127.0.0.1:{port}", proc)
            samples = []
            for _ in range(int(args.settle)):
                time.sleep(1.0)
                samples.append(rss(proc.pid))
            asked = time.monotonic()
            wait_serving(f"http://127.0.0.1:{port}", proc)          # a status call on the idle node
            asked = time.monotonic() - asked
            resident, peak = rss(proc.pid)
        finally:
            proc.terminate()
            proc.wait()
    trail = ", ".join(f"{r / mib:.0f}" for r, _ in samples[9::10])
    print(f"node: held {status.get('held')} documents; resident every 10 s while idle: {trail} MiB")
    print(f"node: resident {resident / mib:.0f} MiB after {args.settle:.0f} s serving idle and a status "
          f"call ({asked:.2f} s), peak {peak / mib:.0f} MiB")
    print(f"baseline: bare python reading the index {bare / mib:.0f} MiB; holding the held sha256s "
          f"as a Python set {as_set / mib:.0f} MiB")
    print(f"node / bare python = {resident / bare:.1f}x; node - bare = {(resident - bare) / mib:.0f} MiB; "
          f"target <= {TARGET / mib:.0f} MiB: {'ok' if resident <= TARGET else 'OVER'} "
          f"(peak {'ok' if peak <= TARGET else 'OVER'})")


if __name__ == "__main__":
    main()
