"""The harvest's progress bar as a person sees it: ``openmirror mirror`` with stderr on a terminal
(a pseudo-terminal here) shows the total it knows (the manifest's lines are counted) and bytes/s."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_the_bar_shows_the_total_and_the_rate(tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}
    env |= {"PYTHONPATH": str(ROOT), "COLUMNS": "160", "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "--home", str(tmp_path / "home"), "mirror",
                             str(ROOT / "examples" / "notes" / "manifest.jsonl")], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:                       # the terminal closed: the process is done with it
            break
        if not chunk:
            break
        screen += chunk
    out, _ = proc.communicate(timeout=60)
    os.close(leader)
    assert proc.returncode == 0, screen
    last = ANSI.sub("", screen.decode(errors="replace")).replace("\r", "\n").strip().splitlines()[-1]
    assert re.search(r"mirror .* 6/6 +[\d.]+ KiB +[\d.]+ (KiB|MiB|B)/s +skipped 1 stored 5", last), last
    assert b"stored 5" in out
