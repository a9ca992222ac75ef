"""`openmirror add` stores and indexes files, signed in the node's feed; `search` finds them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path


def test_add_indexes_files_for_search(cli_run, home_dir: Path, tmp_path: Path):
    f = tmp_path / "notes.txt"
    f.write_text("a treatise on watermills and their gears")
    res = cli_run("add", str(f), "--license", "https://creativecommons.org/licenses/by/4.0/")
    assert res.exit_code == 0, res.output
    cid = res.stdout.split()[-1]
    found = cli_run("search", "watermills", "--json")
    hit = json.loads(found.stdout.splitlines()[0])
    assert hit["cid"] == cid and hit["license"] == "CC-BY-4.0" and hit["collection"] == "local"
    with sqlite3.connect(home_dir / "index.sqlite") as db:   # the change is signed in the feed
        assert db.execute("SELECT count(*) FROM feed_entries").fetchone()[0] == 1


def test_add_no_index_only_stores(cli_run, tmp_path: Path):
    f = tmp_path / "quiet.txt"
    f.write_text("nothing to see about sprockets")
    res = cli_run("add", str(f), "--no-index")
    assert res.exit_code == 0
    assert cli_run("search", "sprockets", "--json").stdout.strip() == ""
    assert cli_run("cat", res.stdout.split()[-1]).stdout == "nothing to see about sprockets"
