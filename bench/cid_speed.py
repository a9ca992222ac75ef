"""Benchmark: whole-process ``openmirror cid`` against a bare sha256 pass over the same file.

Target (issue 2): the importer costs little beyond hashing, i.e. ``openmirror cid`` reaches at
least 0.6x the speed of a bare ``hashlib.sha256`` pass over a 256 MiB file, and its peak memory
stays under 64 MiB whatever the size (checked again on 1 GiB).

Every figure is measured in this run, as the median of ``--runs`` runs, commands interleaved:

    bare        a ``python -c`` process reading the file in 1 MiB ``readinto`` calls into one sha256
    importer    a ``python -c`` process running mirror.store.unixfs.import_file (no CLI)
    openmirror  the real command ``openmirror --home TMP cid FILE`` (unixfs-v1-2025)

The importer must compute two digests (every block's sha256 and the whole stream's), so it
reaches the target only by hashing on both cores. Peak memory is each child's ru_maxrss
(os.wait4). Page cache is warmed first, so the figures are CPU bound.

    python bench/cid_speed.py [--size-mib 256] [--big-mib 1024] [--runs 5] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RATIO = 0.6
MEMORY_CAP_MIB = 64

BARE = """
import hashlib, sys
h = hashlib.sha256(); buf = bytearray(1 << 20); view = memoryview(buf)
with open(sys.argv[1], "rb", buffering=0) as f:
    while n := f.readinto(buf):
        h.update(view[:n])
print(h.hexdigest())
"""

IMPORTER = """
import sys
from mirror.store.profiles import get_profile
from mirror.store.unixfs import import_file
with open(sys.argv[1], "rb", buffering=0) as f:
    print(import_file(f, get_profile("unixfs-v1-2025")).cid)
"""


def make_file(path: Path, size_mib: int) -> Path:
    if not path.exists() or path.stat().st_size != size_mib << 20:
        with open(path, "wb") as f:
            for _ in range(size_mib):
                f.write(os.urandom(1 << 20))
    with open(path, "rb", buffering=0) as f:       # warm the page cache
        while f.read(8 << 20):
            pass
    return path


def run(cmd: list[str]) -> tuple[float, float, str, float]:
    """(seconds, peak RSS in MiB, stdout, CPU seconds) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.stdout.read(), proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err.decode()[-500:]}")
    return elapsed, usage.ru_maxrss / 1024, out.decode().strip(), usage.ru_utime + usage.ru_stime


def openmirror_command(home: Path) -> list[str] | None:
    """The ``openmirror cid`` command if the CLI offers it yet, else None."""
    exe = shutil.which("openmirror")
    base = [exe] if exe else [sys.executable, "-m", "cli.main"]
    probe = subprocess.run(base + ["--home", str(home), "cid", "--help"], capture_output=True)
    return base + ["--home", str(home), "cid"] if probe.returncode == 0 else None


def in_process_pass(path: Path) -> float:
    import hashlib

    start = time.perf_counter()
    digest, buf = hashlib.sha256(), bytearray(1 << 20)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            digest.update(view[:n])
    return time.perf_counter() - start


Result = tuple[float, float, str, float]     # median seconds, max RSS MiB, stdout, median CPU s


def thread_scaling(mib: int = 128) -> float:
    """How much faster two threads hash than one right now (2.0 on two idle cores).

    The importer needs two digests per byte, so without a free second core its ratio cannot
    pass 0.5; this figure tells whether the machine had one to give during the run.
    """
    import hashlib
    import threading

    block = bytes(1 << 20)

    def work() -> None:
        for _ in range(mib):
            hashlib.sha256(block).digest()

    start = time.perf_counter()
    work()
    one = time.perf_counter() - start
    start = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return 2 * one / (time.perf_counter() - start)


def measure(commands: dict[str, list[str]], path: Path, runs: int) -> dict[str, Result]:
    samples: dict[str, list[Result]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            samples[name].append(run(cmd + [str(path)]))
    return {name: (statistics.median(s[0] for s in runs_), max(s[1] for s in runs_), runs_[-1][2],
                   statistics.median(s[3] for s in runs_)) for name, runs_ in samples.items()}


def report(title: str, size_mib: int, results: dict[str, Result], in_process: float | None) -> None:
    print(f"\n{title}: {size_mib} MiB file")
    print(f"  {'command':<11} {'median s':>9} {'MB/s':>8} {'CPU s':>7} {'peak RSS MiB':>13}")
    for name, (seconds, rss, _out, cpu) in results.items():
        print(f"  {name:<11} {seconds:9.3f} {size_mib * 1.048576 / seconds:8.0f} {cpu:7.2f} {rss:13.1f}")
    if in_process is not None:
        print(f"  {'(in-proc)':<11} {in_process:9.3f} {size_mib * 1.048576 / in_process:8.0f}"
              "                       bare pass inside this process (no interpreter start)")
    print(f"  load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--big-mib", type=int, default=1024,
                        help="size of the memory-check file; 0 skips it")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None, help="where the test files go (default: a temp dir)")
    args = parser.parse_args()
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="cid-speed-"))
    workdir.mkdir(parents=True, exist_ok=True)
    home = workdir / "home"
    commands = {"bare": [sys.executable, "-c", BARE], "importer": [sys.executable, "-c", IMPORTER]}
    cli = openmirror_command(home)
    if cli:
        commands["openmirror"] = cli
    else:
        print("note: `openmirror cid` is not available yet; timing the importer process instead")
    target = "openmirror" if cli else "importer"

    path = make_file(workdir / f"data-{args.size_mib}m.bin", args.size_mib)
    results = measure(commands, path, args.runs)
    in_process = statistics.median(in_process_pass(path) for _ in range(args.runs))
    report("speed", args.size_mib, results, in_process)
    bare, ours = results["bare"][0], results[target][0]
    if cli and results["openmirror"][2] != results["importer"][2]:
        raise SystemExit("openmirror cid and the importer disagree on the CID")
    print(f"  two-thread hashing speed-up on this machine now: {thread_scaling():.2f}x (2.00 = idle cores)")
    print(f"  ratio {target} vs bare process:    {bare / ours:.2f} (target >= {TARGET_RATIO})")
    print(f"  ratio {target} vs in-process pass: {in_process / ours:.2f}")
    if cli:
        print(f"  ratio importer vs bare process:  {bare / results['importer'][0]:.2f} (no CLI start-up)")
    worst_rss = results[target][1]

    if args.big_mib:
        big = make_file(workdir / f"data-{args.big_mib}m.bin", args.big_mib)
        big_results = measure({"bare": commands["bare"], target: commands[target]}, big, 1)
        report("memory", args.big_mib, big_results, None)
        worst_rss = max(worst_rss, big_results[target][1])
    print(f"\npeak RSS of {target}: {worst_rss:.1f} MiB (cap {MEMORY_CAP_MIB} MiB)")
    if not args.dir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
