"""Log output of real ``openmirror`` processes: who speaks at which verbosity, one line per record
whatever a remote string holds, and a failure printed once."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web

from cli.logs import SafeFormatter, escape_controls

ROOT = Path(__file__).resolve().parents[1]
FORGED = "WARNING mirror.node: forged line"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}
    return env | {"PYTHONPATH": str(ROOT)}


def openmirror(home: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli.main", "--home", str(home), *args], cwd=ROOT,
                          env=_env(), capture_output=True, text=True, timeout=timeout)


async def run(home: Path, *args: str, timeout: float = 60) -> tuple[int, str, str]:
    """``openmirror`` as a process, without blocking the event loop (a test server may serve it)."""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "cli.main", "--home", str(home),
                                                *args, cwd=ROOT, env=_env(), stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def test_control_characters_are_escaped_not_written() -> None:
    assert escape_controls("plain text, é ü") == "plain text, é ü"
    assert escape_controls("a\nb\r\tc\x1b[2J\x00\u2028\u202e") == "a\\nb\\r\\tc\\x1b[2J\\x00\\u2028\\u202e"
    record = logging.LogRecord("mirror.x", logging.WARNING, __file__, 1, "failed %s: %s",
                               ("id\nWARNING evil: forged", "boom"), None)
    assert SafeFormatter("%(levelname)s %(name)s: %(message)s").format(record) == \
        "WARNING mirror.x: failed id\\nWARNING evil: forged: boom"


def test_other_libraries_speak_only_at_vvv(tmp_path: Path) -> None:
    """asyncio logs its selector at DEBUG when a loop starts: hidden at -vv, shown at -vvv."""
    home = tmp_path / "home"
    assert openmirror(home, "config", "path").returncode == 0        # makes the home `peers` reads
    for flags, shown in (((), False), (("-v",), False), (("-vv",), False), (("-vvv",), True)):
        result = openmirror(home, *flags, "peers")          # opens the home in an event loop
        assert result.returncode == 0, result.stderr
        assert ("DEBUG asyncio: Using selector" in result.stderr) is shown, (flags, result.stderr)


@pytest.fixture
async def remote_manifest(tmp_path: Path):
    """A manifest over http whose ids carry line breaks and escape sequences, naming files that
    are refused (403): every line fails, and its id reaches the log."""
    lines = [json.dumps({"id": f"doc-{i}\n{FORGED}\x1b[2J", "url": f"/missing/{i}.txt",
                         "license": "CC0-1.0"}) for i in range(3)]

    async def manifest(request: web.Request) -> web.Response:
        return web.Response(text="\n".join(lines) + "\n", content_type="application/x-ndjson")

    async def missing(request: web.Request) -> web.Response:
        return web.Response(status=403, text="forbidden")

    app = web.Application()
    app.router.add_get("/list.jsonl", manifest)
    app.router.add_get("/missing/{name}", missing)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/list.jsonl"
    finally:
        await runner.cleanup()


async def test_remote_strings_cannot_forge_log_lines_and_failures_print_once(
        tmp_path: Path, remote_manifest: str) -> None:
    home = tmp_path / "home"
    code, out, err = await run(home, "mirror", remote_manifest, "--delay", "0")
    assert code == 1, err
    assert len([line for line in out.splitlines() if "failed doc-" in line]) == 3
    assert "doc-" not in err                                 # listed in the summary, and only there
    assert "\x1b" not in out

    code, out, err = await run(tmp_path / "home2", "-v", "mirror", remote_manifest, "--delay", "0")
    logged = [line for line in err.splitlines() if "failed doc-" in line]
    assert len(logged) == 3, err
    assert not [line for line in err.splitlines() if line.startswith(FORGED)]
    assert all(f"\\n{FORGED}\\x1b[2J" in line for line in logged), logged
    assert "\x1b" not in err


def test_a_default_run_leaves_the_levels_to_the_root(cli_run) -> None:
    """In one process (as tests run commands) a plain command must not pin openmirror's loggers to
    a level of their own: a later caplog.set_level(INFO) would not see their INFO records."""
    assert cli_run("config", "path").exit_code == 0                   # makes the home stats reads
    assert cli_run("stats").exit_code == 0
    assert [logging.getLogger(name).level for name in ("mirror", "indexer", "cli")] == [logging.NOTSET] * 3
    assert cli_run("-v", "stats").exit_code == 0
    assert logging.getLogger("mirror").level == logging.INFO
    assert cli_run("stats").exit_code == 0
    assert logging.getLogger("mirror").level == logging.NOTSET
