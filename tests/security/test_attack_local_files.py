"""Attack: a remote collection names the node's own files (issue 12, item 1).

A manifest fetched over http names the home's ``node.key`` as a ``file:`` URL, an absolute path and
a ``..`` path; none of it may be read, stored or published, and each line fails with its reason.
"""

from __future__ import annotations

from pathlib import Path

from tests.security.harvest import held_bytes, mirror
from tests.servers.attacker import Attacker


async def test_a_remote_manifest_cannot_read_the_node_key(cli_run, home_dir: Path, attacker: Attacker):
    key = home_dir / "node.key"
    depth = "../" * (len(key.parts) + 2)
    attacker.targets = [f"file://{key}", f"FILE://{key}", f"file://localhost{key}", f"file:{key}",
                        str(key), depth + str(key).lstrip("/"), "..\\..\\node.key", "C:/node.key"]
    code, summary, _ = await mirror(cli_run, attacker.url + "/manifest.jsonl")
    assert summary["stored"] == 0, summary
    assert summary["failed"] == len(attacker.targets), summary
    reasons = {f["source_id"]: f["error"] for f in summary["failures"]}
    assert all("refused" in reason for reason in reasons.values()), reasons
    assert code == 1                                     # failed records, not a crash
    secret = key.read_bytes()                            # created by the run, before the lines
    assert secret and not any(secret in block for block in held_bytes(home_dir))
    asked = {seen.path for seen in attacker.requests} - {"/robots.txt", "/manifest.jsonl"}
    assert not asked, asked                              # nothing resolved against the attacker either
