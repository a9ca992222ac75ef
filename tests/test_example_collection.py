"""The README's main command: mirror the bundled example collection offline, then search it."""

from __future__ import annotations

import json
from pathlib import Path

MANIFEST = Path(__file__).parents[1] / "examples" / "notes" / "manifest.jsonl"


def test_readme_quick_start(cli_run):
    res = cli_run("mirror", str(MANIFEST), "--json")
    assert res.exit_code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["collection"] == "notes"
    assert summary["stored"] == 5 and summary["skipped"] == {"non-commercial": 1}
    assert set(summary) >= {"stored", "unchanged", "skipped", "gone", "failed", "bytes"}
    hits = [json.loads(line) for line in cli_run("search", "content addressing", "--json").stdout.splitlines()]
    assert hits[0]["title"] == "Content addressing in five minutes"
    assert hits[0]["license"] == "CC-BY-4.0"
    again = json.loads(cli_run("mirror", str(MANIFEST), "--json").stdout)
    assert again["stored"] == 0 and again["unchanged"] == 5
