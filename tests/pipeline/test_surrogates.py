"""A lone surrogate in one field of a harvested record (JSON can carry ``\\ud800``; UTF-8 cannot):
the field is repaired, the record and its signed entry are stored, nothing else is touched."""

from __future__ import annotations

import json
from pathlib import Path


def test_a_lone_surrogate_in_one_field_is_replaced_not_fatal(tmp_path: Path, cli_run) -> None:
    (tmp_path / "a.txt").write_text("river survey one")
    (tmp_path / "b.txt").write_text("river survey two")
    lines = ['{"url": "a.txt", "title": "bad \\ud800 title", "license": "CC0-1.0"}',
             '{"url": "b.txt", "title": "good", "description": "x \\udfff y", "license": "CC0-1.0"}']
    (tmp_path / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    result = cli_run("--json", "mirror", str(tmp_path / "manifest.jsonl"))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["stored"] == 2 and summary["failed"] == 0
    hits = [json.loads(line) for line in cli_run("--json", "search", "river").stdout.splitlines()]
    assert sorted(h["title"] for h in hits) == ["bad ? title", "good"]
    status = json.loads(cli_run("--json", "status").stdout)
    assert status["entries"] == 2                                   # both signed
    assert cli_run("verify").exit_code == 0                         # and verifiable
