"""An unreachable host, as a newcomer meets it: plain words after a short retry that shows, and no
retry at all for a name that does not resolve (``.invalid`` never resolves, RFC 2606)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mirror.errors import HostUnreachable
from mirror.fetch.fetcher import CONNECT_RETRIES, Fetcher
from mirror.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def openmirror(home: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}
    began = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "cli.main", "--home", str(home), *args], cwd=ROOT,
                            env=env | {"PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                            timeout=60)
    return result, time.monotonic() - began


def test_a_refusing_host_is_retried_twice_visibly_then_named(tmp_path: Path) -> None:
    port = closed_port()
    result, seconds = openmirror(tmp_path / "home", "mirror", f"http://127.0.0.1:{port}/oai")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1
    assert lines == [
        f"WARNING mirror.fetch.fetcher: cannot reach 127.0.0.1:{port}: connection refused; trying again "
        f"in {lines[0].split(' in ')[1].split(' s ')[0]} s (retry 1 of 2)",
        f"WARNING mirror.fetch.fetcher: cannot reach 127.0.0.1:{port}: connection refused; trying again "
        f"in {lines[1].split(' in ')[1].split(' s ')[0]} s (retry 2 of 2)",
        f"Error: cannot reach 127.0.0.1:{port}: connection refused",
        "Hint: check the address, and that the server is running and reachable from here"], lines
    assert seconds < 10                 # two short waits (0.5-1 s, then 1-2 s), not fetch.retries' 4


def test_a_name_that_does_not_resolve_is_not_retried(tmp_path: Path) -> None:
    result, _ = openmirror(tmp_path / "home", "mirror", "http://no-such-host.invalid/oai")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: cannot reach no-such-host.invalid: no such host (the name does not resolve)",
        "Hint: check the address for typos, and that this machine is online"]


async def test_the_fetcher_says_why_and_counts_no_retry_for_dns(tmp_path: Path) -> None:
    async with Fetcher(Settings(), tmp_path, delay=0, obey_robots=False) as fetcher:
        with pytest.raises(HostUnreachable) as info:
            await fetcher.get_page("http://no-such-host.invalid/page")
        assert not info.value.retryable and fetcher.stats.retries == 0
        with pytest.raises(HostUnreachable) as info:
            await fetcher.get_page(f"http://127.0.0.1:{closed_port()}/page")
        assert info.value.retryable and fetcher.stats.retries == CONNECT_RETRIES
        assert str(info.value).endswith(": connection refused")
