"""A running node says what it does: ``openmirror serve`` as a real process, its stderr read line by
line while it syncs with a real node, copies its contents and audits it. Its own work is at INFO;
aiohttp's access log and other libraries' chatter are not shown (they are with ``-vvv``)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from pathlib import Path

from indexer.records import ContentIn, DocumentIn
from mirror.node.app import Node
from tests.node.node_helpers import NodeFactory, nodes  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]
FAST = {"NODE_SYNC_INTERVAL": "0.3", "NODE_HOLDER_TIMEOUT": "2", "NODE_AUDIT_INTERVAL": "0.5",
        "NODE_COPIES": "2", "NODE_STORAGE": "10MiB", "NODE_RATE_LIMIT": "0"}
WANTED = {"sync": re.compile(r"INFO mirror\.node\.sync\.pull: synced with http://127\.0\.0\.1:\d+: "
                             r"3 entries applied \(3 documents changed\)"),
          "replication": re.compile(r"INFO mirror\.node\.copies\.upkeep: replication: \d content\(s\) "
                                    r"copied here \([\d.]+ KiB\)"),
          "audit": re.compile(r"INFO mirror\.node\.copies\.upkeep: audit: \d holder claim\(s\) checked: "
                              r"passed \d")}


async def add_content(node: Node, tmp: Path, i: int) -> None:
    """Store and index one content on NODE, as ``openmirror add`` would."""
    path = tmp / f"survey-{i}.bin"
    path.write_bytes(os.urandom(9000 + 97 * i))
    result = await asyncio.to_thread(node.store.add_file, path)
    content = ContentIn(sha256=result.sha256, size=result.size, cid=str(result.cid),
                        profile=result.profile, name=path.name)
    await node.index.upsert_document(DocumentIn(collection="surveys", source_id=f"s{i}",
                                                title=f"River survey {i}", license="CC0-1.0",
                                                contents=[content]))


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}
    return env | {f"OPENMIRROR_{k}": v for k, v in FAST.items()} | {"PYTHONPATH": str(ROOT)}


async def test_a_serving_node_logs_its_sync_replication_and_audits_at_info(
        nodes: NodeFactory, tmp_path: Path) -> None:  # noqa: F811
    origin = await nodes.start("origin", holder_timeout=2.0, audit_interval=0.5, sync_interval=0.3)
    for i in range(3):
        await add_content(origin, tmp_path, i)
    home = nodes.home("volunteer").path
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", "--home", str(home), "serve", "--listen", "127.0.0.1:0",
        "--peer", origin.url, "--json", cwd=ROOT, env=_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    lines: list[str] = []
    try:
        assert proc.stdout is not None and proc.stderr is not None
        ready = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
        assert ready["url"].startswith("http://127.0.0.1:")
        seen: set[str] = set()
        async with asyncio.timeout(30):
            while seen != set(WANTED):
                line = (await proc.stderr.readline()).decode()
                assert line, "the node stopped: " + "".join(lines)
                lines.append(line)
                seen |= {name for name, pattern in WANTED.items() if pattern.search(line)}
        proc.send_signal(signal.SIGTERM)
        rest = (await asyncio.wait_for(proc.stderr.read(), 15)).decode()
        lines += rest.splitlines(keepends=True)
        assert await asyncio.wait_for(proc.wait(), 15) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    text = "".join(lines)
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d INFO mirror\.", lines[0]), lines[0]
    assert not re.search(r"aiohttp|sqlalchemy|asyncio|DEBUG", text), text
    assert all(" mirror." in line for line in lines if line.strip()), text
