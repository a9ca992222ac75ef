"""Removing things (issue 16 item 3), as real processes: ``rm`` signs a retraction peers apply and
stops the gateway at once, ``gc`` reclaims what nothing references (and what killed runs left)
but never a pinned DAG nor while another process writes the home, and a manifest or folder
mirrored again retracts what left it (unless --keep-missing) and fails a line whose file is gone."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import aiohttp

from tests.processes import ok, run, serving


def work(tmp_path: Path) -> Path:
    """Two reports, a folder of two notes and a manifest naming both reports."""
    folder = tmp_path / "work"
    (folder / "notes").mkdir(parents=True)
    (folder / "notes" / "tides.txt").write_text("notes on the tides of the estuary\n")
    (folder / "notes" / "dunes.txt").write_text("notes on the dunes of the coast\n")
    (folder / "flood.txt").write_text("a report on the flood of the river\n")
    (folder / "drought.txt").write_text("a report on the drought of the summer\n")
    write_manifest(folder, ["flood.txt", "drought.txt"])
    return folder


def write_manifest(folder: Path, names: list[str]) -> None:
    (folder / "manifest.jsonl").write_text(
        "".join(json.dumps({"url": n, "license": "CC0-1.0"}) + "\n" for n in names))


async def titles(home: Path, words: str) -> list[str]:
    return [json.loads(line)["title"] for line in (await ok(home, "search", words, "--json")).splitlines()]


def count(home: Path, sql: str) -> int:
    with closing(sqlite3.connect(home / "index.sqlite")) as conn:
        return int(conn.execute(sql).fetchone()[0])


async def test_rm_retracts_for_peers_and_the_gateway_stops_at_once(tmp_path: Path) -> None:
    home, peer = tmp_path / "home", tmp_path / "peer"
    folder = work(tmp_path)
    await ok(home, "mirror", str(folder / "manifest.jsonl"), "--collection", "reports")
    flood = (await ok(home, "search", "flood", "--json")).splitlines()
    cid = json.loads(flood[0])["cid"]
    async with serving(home) as url, aiohttp.ClientSession() as http:
        await ok(peer, "join", url, "--once")
        assert sorted(await titles(peer, "txt")) == ["drought.txt", "flood.txt"]
        async with http.get(f"{url}/ipfs/{cid}") as resp:
            assert resp.status == 200
        removed = json.loads(await ok(home, "rm", cid, "--json"))
        assert removed == {"documents": 1, "unpinned": 0}
        async with http.get(f"{url}/ipfs/{cid}") as resp:
            assert resp.status == 404                       # served no more, though its blocks stay
        await ok(peer, "join", url, "--once")
    assert await titles(peer, "txt") == ["drought.txt"]
    assert await titles(home, "flood") == []
    code, _, err = await run(home, "rm", cid)
    assert code == 1 and err.startswith("Error: nothing to remove"), err
    again = json.loads(await ok(home, "mirror", str(folder / "manifest.jsonl"), "--collection", "reports",
                                "--json"))
    assert again["stored"] == 1                              # rm forgot its status: a rerun stores it
    removed = json.loads(await ok(home, "rm", "--collection", "reports", "--json"))
    assert removed["documents"] == 2 and await titles(home, "txt") == []


async def test_gc_reclaims_what_nothing_references_and_keeps_pins(tmp_path: Path) -> None:
    home = tmp_path / "home"
    folder = work(tmp_path)
    flood = (await ok(home, "add", str(folder / "flood.txt"), "--license", "CC0-1.0")).split()[-1]
    drought = (await ok(home, "add", str(folder / "drought.txt"), "--license", "CC0-1.0")).split()[-1]
    loose = (await ok(home, "add", "--no-index", str(folder / "notes" / "tides.txt"))).split()[-1]
    await ok(home, "pin", "add", loose)
    (home / "staging").mkdir(exist_ok=True)
    (home / "staging" / "killed-run.part").write_bytes(b"half a body")
    assert json.loads(await ok(home, "gc", "--json"))["blocks"] == 0     # everything is referenced
    assert not (home / "staging" / "killed-run.part").exists()
    await ok(home, "rm", flood)
    await ok(home, "pin", "rm", loose)
    dry = json.loads(await ok(home, "gc", "--dry-run", "--json"))
    assert (dry["blocks"], dry["dry_run"]) == (2, True)
    assert (await run(home, "cat", flood))[0] == 0                      # a dry run removes nothing
    async with serving(home):
        code, _, err = await run(home, "gc")
        assert code == 3 and "this needs it alone" in err, err          # a node writes the home
    swept = json.loads(await ok(home, "gc", "--json"))
    assert swept["blocks"] == 2 and swept["bytes"] > 0
    assert (await run(home, "cat", flood))[0] == 1 and (await run(home, "cat", loose))[0] == 1
    assert (await ok(home, "cat", drought)) == "a report on the drought of the summer\n"
    assert json.loads(await ok(home, "gc", "--json"))["blocks"] == 0


async def test_a_line_or_file_that_left_its_source_is_retracted(tmp_path: Path) -> None:
    home = tmp_path / "home"
    folder = work(tmp_path)
    manifest = str(folder / "manifest.jsonl")
    await ok(home, "mirror", manifest, "--collection", "reports")
    await ok(home, "mirror", str(folder / "notes"), "--collection", "notes", "--assume-license", "CC0-1.0")
    write_manifest(folder, ["flood.txt"])
    kept = json.loads(await ok(home, "mirror", manifest, "--collection", "reports", "--keep-missing", "--json"))
    assert kept["retracted"] == 0 and await titles(home, "drought") == ["drought.txt"]
    done = json.loads(await ok(home, "mirror", manifest, "--collection", "reports", "--json"))
    assert (done["retracted"], done["unchanged"]) == (1, 1) and await titles(home, "drought") == []
    (folder / "notes" / "dunes.txt").unlink()
    done = json.loads(await ok(home, "mirror", str(folder / "notes"), "--collection", "notes",
                               "--assume-license", "CC0-1.0", "--json"))
    assert done["retracted"] == 1 and await titles(home, "notes") == ["tides"]
    assert count(home, "SELECT count(*) FROM feed_entries WHERE kind = 'retract'") == 2   # peers drop them


async def test_a_missing_local_file_fails_its_line_by_name(tmp_path: Path) -> None:
    home = tmp_path / "home"
    folder = work(tmp_path)
    write_manifest(folder, ["flood.txt", "lost.txt"])
    code, out, err = await run(home, "mirror", str(folder / "manifest.jsonl"), "--collection", "reports",
                               "--json")
    assert code == 1, err                                        # failed, not silently "gone"
    summary = json.loads(out)
    assert (summary["stored"], summary["failed"], summary["gone"]) == (1, 1, 0)
    assert summary["failures"] == [{"source_id": "lost.txt", "error": f"no such file: {folder / 'lost.txt'}"}]
    code, out, err = await run(home, "mirror", str(folder / "manifest.jsonl"), "--collection", "reports")
    assert code == 1 and f"failed lost.txt: no such file: {folder / 'lost.txt'}" in out + err
