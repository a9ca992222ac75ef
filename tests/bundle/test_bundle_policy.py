"""An import behaves like a sync: blocked authors, forks and later syncs; and what export refuses."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from mirror.store.blockstore import BlockStore
from mirror.store.cid import CID
from tests.bundle.bundle_helpers import Source, fresh_home, manifest, om, rows
from tests.node.node_helpers import NodeFactory, document, nodes, wait_for  # noqa: F401  (fixture)


def copy_home(source: Source, to: Path) -> Path:
    shutil.copytree(source.home, to)
    return to


def add(home: Path, path: Path, text: str) -> None:
    path.write_text(text)
    result = om(home, "add", str(path), "--collection", "notes", "--license", "CC-BY-4.0")
    assert result.exit_code == 0, result.output


def test_the_feed_of_a_blocked_author_is_skipped(source: Source, tmp_path: Path):
    home = fresh_home(tmp_path / "B")
    author = manifest(source.bundle)["feeds"][0]["author"]
    assert om(home, "peers", "block", author).exit_code == 0
    result = om(home, "import", str(source.bundle), "--json")
    report = json.loads(result.stdout)
    assert report["authors_skipped"] == [author] and report["documents_applied"] == 0
    assert report["contents_kept"] == 0 and rows(home, "SELECT count(*) FROM feed_entries") == [(0,)]


def test_a_bundle_of_another_branch_records_fork_evidence(source: Source, tmp_path: Path):
    one, two = copy_home(source, tmp_path / "A1"), copy_home(source, tmp_path / "A2")
    add(one, tmp_path / "one.txt", "the first branch")     # the same key writes seq 5 twice:
    add(two, tmp_path / "two.txt", "the second branch")    # a home restored from a backup
    for home in (one, two):
        assert om(home, "export", "notes", "-o", str(home / "bundle")).exit_code == 0
    node = fresh_home(tmp_path / "B")
    assert json.loads(om(node, "import", str(one / "bundle"), "--json").stdout)["entries_stored"] == 5
    report = json.loads(om(node, "import", str(two / "bundle"), "--json").stdout)
    author = manifest(one / "bundle")["feeds"][0]["author"]
    assert report["forked"] == [author] and report["entries_stored"] == 0
    assert rows(node, "SELECT author, seq FROM feed_forks") == [(author, 5)]


async def test_a_later_sync_continues_from_the_imported_cursor(source: Source, tmp_path: Path,
                                                                nodes: NodeFactory):
    copy_home(source, tmp_path / "A")
    home_b = fresh_home(tmp_path / "B")
    result = await asyncio.to_thread(om, home_b, "import", str(source.bundle))
    assert result.exit_code == 0, result.output
    a = await nodes.start("A")
    await a.index.upsert_document(document(1, collection="notes", title="Millpond registry"))
    b = await nodes.start("B", peers=[a.url])
    author = a.identity.node_id
    await wait_for(lambda: b.merger.head(author), what="B's cursor")
    await wait_for(lambda: _seq(b, author, 5), what="B pulls only the new entry")
    assert [h.title for h in await b.index.search(_query("Millpond"))] == ["Millpond registry"]
    assert rows(home_b, "SELECT count(*) FROM feed_entries") == [(5,)]
    assert rows(home_b, "SELECT count(*) FROM feed_forks") == [(0,)]


async def _seq(node, author: str, seq: int) -> bool:  # type: ignore[no-untyped-def]
    return (await node.merger.head(author)).seq == seq


def _query(text: str):  # type: ignore[no-untyped-def]
    from indexer.records import SearchQuery
    return SearchQuery(text)


def test_export_refuses_missing_content_unless_allowed(source: Source, tmp_path: Path):
    home = copy_home(source, tmp_path / "A")
    BlockStore(home / "blocks").path_of(CID.decode(source.cids["windmills.txt"])).unlink()
    refused = om(home, "export", "notes", "-o", str(tmp_path / "out"))
    assert refused.exit_code == 1 and "1 of 3 contents of 'notes' are not held here" in refused.stderr
    assert "--allow-missing" in refused.stderr and not (tmp_path / "out").exists()
    allowed = om(home, "export", "notes", "-o", str(tmp_path / "out"), "--allow-missing", "--json")
    assert allowed.exit_code == 0, allowed.output
    held = sum(source.files[n].stat().st_size for n in ("watermills.txt", "millponds.txt"))
    assert json.loads(allowed.stdout) | {"seconds": 0, "car_bytes": 0, "path": ""} == {
        "path": "", "collection": "notes", "documents": 3, "contents": 2, "content_bytes": held,
        "car_bytes": 0, "missing": 1, "authors": 1, "entries": 4, "forks": 0, "seconds": 0}
    node = fresh_home(tmp_path / "B")
    report = json.loads(om(node, "import", str(tmp_path / "out"), "--json").stdout)
    assert report["collections"] == {"notes": 3, "other": 1} and report["contents_kept"] == 2
    assert om(node, "search", "windmills.txt", "--json").stdout.count("\n") == 1   # metadata only


def test_export_never_overwrites_without_force(source: Source, tmp_path: Path):
    bundle = source.copy_bundle(tmp_path / "bundle")
    (bundle / "entries" / "stale.omep").write_bytes(b"left from another export")
    before = manifest(bundle)["created"]
    refused = om(source.home, "export", "notes", "-o", str(bundle))
    assert refused.exit_code == 2 and "is not empty" in refused.stderr
    assert om(source.home, "export", "notes", "-o", str(bundle), "--force").exit_code == 0
    assert manifest(bundle)["created"] > before and not (bundle / "entries" / "stale.omep").exists()
    assert om(source.home, "export", "nowhere", "-o", str(tmp_path / "x")).exit_code == 2
