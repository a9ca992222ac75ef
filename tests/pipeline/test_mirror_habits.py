"""``openmirror mirror`` with the habits users bring (issue 16 item 5), as real processes: wget's
``--accept``/``--reject``/``--no-parent``/``--limit-rate``, ``--license`` split into
``--allow-license`` and ``--assume-license`` (``--license`` still working), and a hint when every
record was skipped."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTES = str(ROOT / "examples" / "notes" / "manifest.jsonl")


async def run(home: Path, *args: str, timeout: float = 120) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "cli.main", "--home", str(home), *args,
                                                cwd=ROOT, env=env | {"PYTHONPATH": str(ROOT)},
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def documents(home: Path) -> list[dict]:
    code, out, err = await run(home, "search", "", "--limit", "1000", "--json")
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


async def test_a_site_crawl_keeps_only_the_files_asked_for(tmp_path: Path, site_server) -> None:
    home = tmp_path / "home"
    code, out, err = await run(home, "mirror", site_server.docs, "--kind", "site", "--depth", "1", "--delay",
                               "0", "--accept", "pdf", "--no-parent", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["stored"] == 1 and summary["skipped"]["filtered"] >= 10, summary
    (paper,) = await documents(home)
    assert paper["title"] == "A paper about mirrors" and paper["media_type"] == "application/pdf"
    assert site_server.fetched("/files/report.pdf") == site_server.fetched("/docs/table.csv") == 0

    code, out, err = await run(tmp_path / "home2", "mirror", site_server.docs, "--kind", "site", "--depth",
                               "2", "--delay", "0", "-R", "html", "-R", "csv", "--json")
    assert code == 0, err
    kept = {d["source_url"].removeprefix(site_server.url): d["media_type"]
            for d in await documents(tmp_path / "home2")}
    assert kept == {"/docs/paper.html": "application/pdf",       # the page left, its PDF kept
                    "/files/report.pdf": "application/pdf",      # without --no-parent: anywhere on the host
                    "/docs/download?id=7": "text/csv"}           # named "download": no .csv to reject


async def test_assume_license_declares_a_site_you_own_and_keeps_what_pages_say(tmp_path: Path,
                                                                               site_server) -> None:
    args = ("--kind", "site", "--depth", "1", "--delay", "0", "--json")
    code, out, err = await run(tmp_path / "before", "mirror", site_server.docs, *args)
    before = {d["title"] for d in await documents(tmp_path / "before")}
    assert "No licence" not in before and json.loads(out)["skipped"]["no-license"] >= 1
    code, out, err = await run(tmp_path / "after", "mirror", site_server.docs, *args,
                               "--assume-license", "CC-BY-4.0")
    assert code == 0, err
    after = {d["title"]: d for d in await documents(tmp_path / "after")}
    assert after["No licence"]["license"] == "CC-BY-4.0"
    assert "NC page" not in after                          # its own statement still decides
    assert set(after) - set(before) == {"No licence", "Documents"}     # the index page states none either


async def test_licence_options_old_and_new_and_where_they_apply(tmp_path: Path) -> None:
    for flag in ("--license", "--allow-license"):          # an allow-list for a manifest
        home = tmp_path / flag.strip("-")
        code, out, err = await run(home, "mirror", NOTES, flag, "CC0-1.0", "--json")
        summary = json.loads(out)
        assert (code, summary["stored"], summary["skipped"]) == (0, 1, {"not-allowed": 4, "non-commercial": 1})
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "a.txt").write_text("report a")
    for flag in ("--license", "--assume-license"):         # a folder's licence
        code, out, err = await run(tmp_path / f"f{flag}", "mirror", str(folder), flag, "CC0-1.0", "--json")
        assert code == 0 and json.loads(out)["stored"] == 1, err
    code, out, err = await run(tmp_path / "none", "mirror", str(folder))
    assert code == 2 and "Hint: declare it with --assume-license SPDX-ID" in err
    code, out, err = await run(tmp_path / "x", "mirror", NOTES, "--assume-license", "CC0-1.0")
    assert code == 2 and err.startswith("Error: --assume-license declares the licence of a folder or of a website")
    assert "Hint: to admit a licence the allow-list leaves out, use --allow-license SPDX" in err
    code, out, err = await run(tmp_path / "x", "mirror", NOTES, "--accept", "pdf")
    assert code == 2 and "filter a website crawl, not a manifest source" in err
    assert not (tmp_path / "x" / "blocks").exists() or not any((tmp_path / "x" / "blocks").rglob("*.data"))


async def test_a_hint_when_every_record_was_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    for name in ("a.txt", "b.txt"):
        (folder / name).write_text(name)
    code, out, err = await run(tmp_path / "home", "mirror", str(folder), "--assume-license", "CC-BY-NC-4.0")
    assert code == 0
    assert err == ("Hint: every record was skipped: their licences are not on the open allow-list; if the "
                   "collection is open under a licence the list lacks, allow it with --allow-license SPDX\n")
    code, out, err = await run(tmp_path / "home", "mirror", NOTES, "--json")
    assert "hint" not in json.loads(out)                    # something was stored: no hint


async def test_limit_rate_slows_the_download(tmp_path: Path, origin) -> None:
    manifest = tmp_path / "files.jsonl"
    manifest.write_text("".join(json.dumps({"url": origin.url(f"/file/{200_000 + i}"), "license": "CC0-1.0"})
                                + "\n" for i in range(3)))
    began = time.monotonic()
    code, out, err = await run(tmp_path / "slow", "mirror", str(manifest), "--delay", "0", "--allow-private",
                               "--limit-rate", "300KiB", "--json")
    took = time.monotonic() - began
    assert code == 0 and json.loads(out)["stored"] == 3, err
    assert took >= 600_000 / (300 * 1024) - 0.25 - 0.1      # ~1.95 s less the burst allowance
    code, out, err = await run(tmp_path / "bad", "mirror", str(manifest), "--limit-rate", "fast")
    assert code == 2 and err.startswith("Error: --limit-rate: not a size: 'fast'")
