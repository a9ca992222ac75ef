"""The node commands as real processes: serve, join --once, status, peers; and a node serving while
another process writes to the same home."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import textwrap
from pathlib import Path

import aiohttp
import pytest
from click.testing import CliRunner

from cli.main import cli

from tests.node.node_helpers import nodes  # noqa: F401  (fixture)
from tests.node.node_helpers import NodeFactory, count, document, wait_for

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


async def _run(*args: str, timeout: float = 60) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "cli.main", *args, cwd=ROOT,
                                                env=_env(), stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode, out.decode(), err.decode()


async def test_join_once_syncs_and_prints_a_summary(nodes: NodeFactory, tmp_path: Path) -> None:
    a = await nodes.start("a")
    await a.index.upsert_documents([document(i) for i in range(7)])
    home = str(nodes.home("b").path)
    code, out, err = await _run("--home", home, "join", a.url, "--once", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["entries"], summary["documents"], summary["lag"], summary["errors"]) == (7, 7, 0, {})
    assert summary["feeds"] == [a.identity.node_id] and summary["bytes"] > 0
    status = json.loads((await _invoke("--home", home, "status", "--json")).output)
    assert (status["documents"], status["feeds"], status["entries"], status["peers"]) == (7, 1, 7, 1)
    failed = await _invoke("--home", home, "join", "http://127.0.0.1:9", "--once")
    assert failed.exit_code == 1 and "http://127.0.0.1:9" in failed.output


async def _invoke(*args: str):  # type: ignore[no-untyped-def]
    """Run the CLI in this process (in a thread: commands start their own event loop)."""
    runner = CliRunner()
    return await asyncio.to_thread(runner.invoke, cli, list(args), env={"OPENMIRROR_HOME": ""},
                                   catch_exceptions=False)


async def test_serve_runs_until_terminated_and_status_reads_its_home(nodes: NodeFactory) -> None:
    home = nodes.home("served")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", "--home", str(home.path), "serve", "--listen",
        "127.0.0.1:0", "--json", cwd=ROOT, env=_env(), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    try:
        ready = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
        async with aiohttp.ClientSession() as session:
            async with session.get(ready["url"] + "/api/v1/status") as resp:
                served = await resp.json()
        result = await _invoke("--home", str(home.path), "status", "--json")
        assert result.exit_code == 0, result.output
        local = json.loads(result.output)
        assert served["node_id"] == local["node_id"] == ready["node_id"]
        assert {"documents", "held", "storage_used", "feeds", "peers"} <= local.keys()
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 15) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def test_peers_commands(cli_run, home_dir: Path) -> None:
    result = cli_run("peers", "add", "peer.example:8470")
    assert result.exit_code == 0 and "http://peer.example:8470" in result.output
    rows = [json.loads(line) for line in cli_run("peers", "--json").output.splitlines()]
    assert [(r["url"], r["state"], r["source"]) for r in rows] == [
        ("http://peer.example:8470", "new", "configured")]
    key = "omaoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4a"
    assert cli_run("peers", "block", "omnotakey").exit_code == 2
    result = cli_run("--json", "peers", "block", key)
    assert result.exit_code == 0 and json.loads(result.output)["blocked"] is True
    assert json.loads(cli_run("status", "--json").output)["blocked"] == 1
    assert cli_run("peers", "unblock", key).exit_code == 0
    assert json.loads(cli_run("status", "--json").output)["blocked"] == 0
    own = json.loads(cli_run("status", "--json").output)["node_id"]
    assert cli_run("peers", "block", own).exit_code == 2
    assert cli_run("peers", "remove", "http://peer.example:8470").exit_code == 0
    assert cli_run("peers", "--json").output == ""


WRITER = textwrap.dedent("""
    import asyncio, sys
    from mirror.home import Home
    from mirror.services import open_home
    from tests.node.node_helpers import document

    async def main():
        async with open_home(Home.open(sys.argv[1])) as services:
            for batch in range(10):
                await services.index.upsert_documents(
                    [document(batch * 20 + i, title=f"from the other process {i}") for i in range(20)])

    asyncio.run(main())
""")


async def test_a_node_keeps_serving_while_another_process_writes_its_home(nodes: NodeFactory) -> None:
    a = await nodes.start("a")
    b = await nodes.start("b", peers=[a.url], sync_interval=600.0)
    await wait_for(lambda: a.book.get(b.url), what="a to learn b")
    writer = await asyncio.create_subprocess_exec(sys.executable, "-c", WRITER, str(a.home.path),
                                                  cwd=ROOT, env=_env(), stderr=asyncio.subprocess.PIPE)
    served = 0
    async with aiohttp.ClientSession() as session:
        while writer.returncode is None:                   # a answers while the writer writes
            async with session.get(a.url + "/api/v1/status") as resp:
                assert resp.status == 200
                served += 1
            try:
                await asyncio.wait_for(writer.wait(), 0.05)
            except TimeoutError:
                pass
    assert writer.returncode == 0, (await writer.stderr.read()).decode()
    assert served > 1
    # a notices its own feed grew in another process and notifies b (whose sync interval is long)
    await wait_for(lambda: _at_least(b, 200), timeout=10, what="b to receive the other process's entries")
    assert (await a.status())["entries"] == 200


async def _at_least(node, n: int) -> bool:  # type: ignore[no-untyped-def]
    return await count(node) >= n


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("OPENMIRROR_")]:
        monkeypatch.delenv(key)


async def test_join_once_syncs_the_named_peer_even_while_it_is_backed_off(nodes: NodeFactory) -> None:
    """A peer that failed before is backed off; naming it in ``join --once`` still syncs with it
    (before: it was skipped and the command said 'joined' with nothing fetched)."""
    from mirror.node.sync.peers import PeerBook
    from mirror.services import open_home

    a = await nodes.start("a")
    await a.index.upsert_documents([document(i) for i in range(3)])
    home = nodes.home("b")
    async with open_home(home) as services:                # b failed to reach a an hour ago
        book = PeerBook(services.index, backoff=3600, backoff_max=3600)
        await book.add(a.url, "configured")
        await book.failed(a.url, "connection refused")
        assert book.in_backoff((await book.get(a.url)))
    code, out, err = await _run("--home", str(home.path), "join", a.url, "--once", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["entries"], summary["documents"], summary["errors"]) == (3, 3, {})
