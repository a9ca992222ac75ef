"""store.ipfs_api with mirror: every file harvested is also imported and pinned in Kubo, with the
CIDs we computed; a Kubo that cannot be reached stops the run before anything is harvested."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from tests.fakes.kubo import FakeKubo, kubo  # noqa: F401  (fixture)

from mirror.store.cid import CID

MANIFEST = Path(__file__).parents[2] / "examples" / "notes" / "manifest.jsonl"


def test_mirror_imports_and_pins_every_file_in_kubo(cli_run, kubo: FakeKubo) -> None:
    res = cli_run("mirror", str(MANIFEST), "--json", "--ipfs-api", kubo.url)
    summary = json.loads(res.output)
    assert res.exit_code == 0 and summary["stored"] == 5, res.output
    found = cli_run("search", "", "--json", "--limit", "100").output.splitlines()
    cids = [CID.decode(json.loads(line)["cid"]) for line in found]
    assert len(cids) == 5 and all(kubo.is_pinned(cid) for cid in cids)
    assert all(kubo.blocks.has(cid) for cid in cids)


def test_a_kubo_that_cannot_be_reached_is_exit_3_and_nothing_is_harvested(cli_run, home_dir: Path) -> None:
    with socket.socket() as sock:            # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    res = cli_run("mirror", str(MANIFEST), "--ipfs-api", dead)
    assert res.exit_code == 3
    assert "Kubo" in res.output and "Traceback" not in res.output
    assert json.loads(cli_run("stats", "--json").output)["documents"] == 0
