"""A collection moves from home A to a fresh home B through a bundle; B never talks to A."""

from __future__ import annotations

import json
from pathlib import Path

from mirror.store import ContentStore
from mirror.store.blockstore import BlockStore
from mirror.store.cid import CID
from tests.bundle.bundle_helpers import Source, block_files, fresh_home, manifest, om, rows


def search(home: Path, words: str) -> list[dict]:
    result = om(home, "search", words, "--json")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def imported(source: Source, home: Path, bundle: Path | None = None) -> dict:
    result = om(home, "import", str(bundle or source.bundle), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_export_writes_the_layout_and_summary(source: Source):
    data = manifest(source.bundle)
    assert data["format"] == "openmirror-bundle" and data["version"] == 1
    assert data["collection"] == "notes"
    assert data["counts"] | {"content_bytes": 0} == {"documents": 3, "contents": 3, "content_bytes": 0,
                                                     "missing": 0, "authors": 1, "entries": 4, "forks": 0}
    [feed] = data["feeds"]
    assert feed["seq"] == 4 and [f["path"] for f in feed["files"]] == [f"entries/{feed['author']}.omep"]
    assert [c["path"] for c in data["content"]] == ["content.car"]
    assert sorted(p.name for p in source.bundle.iterdir()) == ["content.car", "entries", "manifest.json"]


def test_import_makes_the_collection_searchable_and_servable(source: Source, tmp_path: Path):
    home = fresh_home(tmp_path / "B")
    report = imported(source, home)
    assert report["collections"] == {"notes": 3, "other": 1}
    assert report["entries"] == report["entries_stored"] == 4 and report["refused_licence"] == 0
    assert report["contents"] == 3 and report["contents_kept"] == 3 and report["contents_dropped"] == 0
    [hit] = search(home, "watermills")           # found by the text extracted here
    assert hit["license"] == "CC-BY-4.0" and hit["cid"] == source.cids["watermills.txt"]
    assert [h["license"] for h in search(home, "windmills")] == ["CC-BY-SA-4.0"]
    for name in ("watermills.txt", "windmills.txt"):
        cat = om(home, "cat", source.cids[name])
        assert cat.stdout_bytes == source.files[name].read_bytes()
        assert ContentStore(BlockStore(home / "blocks")).has_all(CID.decode(source.cids[name]))
    show = json.loads(om(home, "show", source.cids["watermills.txt"], "--json").stdout)
    assert show["source_url"] == "watermills.txt"      # A's local path stays in A
    assert show["retrieved_at"] and show["collection"] == "notes"


def test_a_noncommercial_document_stays_in_its_home(source: Source, tmp_path: Path):
    """Its licence is not open, so A keeps it private: no entry, no content, no count in the bundle
    (a non-commercial entry of another author is still carried but not indexed: test_policy)."""
    assert search(source.home, "tidemills")[0]["private"] is True
    home = fresh_home(tmp_path / "B")
    imported(source, home)
    assert search(home, "tidemills") == []
    payloads = [json.loads(p) for (p,) in rows(home, "SELECT payload FROM feed_entries")]
    assert [p for p in payloads if "tidemills" in json.dumps(p)] == []
    cid = CID.decode(source.cids["tidemills.txt"])
    assert not ContentStore(BlockStore(home / "blocks")).has(cid)
    assert len(block_files(home)) == 3


def test_entries_of_another_collection_apply_by_the_normal_rules(source: Source, tmp_path: Path):
    home = fresh_home(tmp_path / "B")
    imported(source, home)
    [hit] = search(home, "sawmills")          # in the chain's prefix: applied, found by its title
    assert hit["collection"] == "other" and hit["license"] == "CC0-1.0"
    assert om(home, "cat", source.cids["sawmills.txt"]).exit_code == 1   # its content is not in the bundle


def test_importing_twice_changes_nothing(source: Source, tmp_path: Path):
    home = fresh_home(tmp_path / "B")
    imported(source, home)
    before = rows(home, "SELECT id, updated_at FROM documents ORDER BY id")
    blocks = sorted(block_files(home))
    again = imported(source, home)
    assert again["documents_applied"] == again["entries_stored"] == 0
    assert sorted(block_files(home)) == blocks
    assert again["contents_kept"] == 3 and again["collections"] == {"notes": 3}
    assert rows(home, "SELECT id, updated_at FROM documents ORDER BY id") == before
    assert rows(home, "SELECT count(*) FROM feed_entries") == [(4,)]


def test_a_tar_bundle_round_trips(source: Source, tmp_path: Path):
    tar = tmp_path / "notes.tar"
    result = om(source.home, "export", "notes", "-o", str(tar), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["car_bytes"] > 0
    home = fresh_home(tmp_path / "B")
    report = imported(source, home, tar)
    assert report["collections"] == {"notes": 3, "other": 1}
    assert om(home, "cat", source.cids["windmills.txt"]).stdout_bytes == b"notes about windmills in the lowlands"


def test_importing_into_the_exporting_home_changes_nothing(source: Source):
    before = len(block_files(source.home))
    report = imported(source, source.home)
    assert report["entries_stored"] == report["documents_applied"] == report["blocks_new"] == 0
    assert report["contents_kept"] == 3 and len(block_files(source.home)) == before
