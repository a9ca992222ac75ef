"""Attack: a record's id or error carries terminal escape sequences; the text summary prints them
harmlessly (no ESC reaches the terminal, no rich markup is interpreted)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path


async def test_the_summary_does_not_pass_escape_sequences_on(cli_run, tmp_path: Path):
    manifest = tmp_path / "m.jsonl"
    lines = [{"id": "evil\x1b]0;pwned\x07\x1b[2J", "url": "http:///no-host", "license": "CC0-1.0"},
             {"id": "[bold red]markup[/]", "url": "http:///no-host", "license": "CC0-1.0"}]
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    res = await asyncio.to_thread(cli_run, "mirror", str(manifest))
    assert res.exit_code == 1
    assert "\x1b" not in res.stdout and "\x07" not in res.stdout, repr(res.stdout)
    assert "failed evil\ufffd]0;pwned\ufffd\ufffd[2J" in res.stdout and "failed [bold red]markup[/]" in res.stdout
