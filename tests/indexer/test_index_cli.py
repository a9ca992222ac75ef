"""``openmirror search / show / stats / db`` through the real CLI on a real home."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from index_helpers import content, document

from indexer.index import Index
from indexer.records import DocumentIn

HIT_FIELDS = ["cid", "sha256", "title", "creators", "license", "license_url", "source_url",
              "collection", "media_type", "size", "date", "score", "snippet", "private"]
PDF = content("glacier pdf bytes", media_type="application/pdf", name="glacier.pdf",
              url="https://example.org/glacier.pdf")


def _fill(home: Path, docs: list[DocumentIn]) -> None:
    async def fill() -> None:
        home.mkdir(parents=True, exist_ok=True)
        async with await Index.open(home / "index.sqlite") as index:
            await index.upsert_documents(docs)

    asyncio.run(fill())


@pytest.fixture
def filled(home_dir: Path) -> Path:
    _fill(home_dir, [
        document("g1", title="Glacier retreat", creators=["Ada Lovelace"], license="CC-BY-4.0",
                 license_url="https://creativecommons.org/licenses/by/4.0/", date="2021",
                 source_url="https://example.org/glacier.pdf", raw_record="<record>g1</record>",
                 retrieved_at="2025-01-01T00:00:00Z", http_status=200,
                 http_headers={"content-type": "application/pdf"}, contents=[PDF]),
        document("g2", title="River levels", description="glacier melt", license="CC0-1.0",
                 collection="data", contents=[content("levels.csv")]),
    ])
    return home_dir


def _lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines()]


def test_search_json_has_exactly_the_stable_fields(filled: Path, cli_run) -> None:
    result = cli_run("search", "glacier", "--json")
    assert result.exit_code == 0, result.output
    first, second = _lines(result.stdout)
    assert list(first) == HIT_FIELDS
    assert (first["title"], first["cid"], first["sha256"], first["size"]) == (
        "Glacier retreat", PDF.cid, PDF.sha256, PDF.size)
    assert (first["license"], first["license_url"], first["collection"]) == (
        "CC-BY-4.0", "https://creativecommons.org/licenses/by/4.0/", "papers")
    assert first["creators"] == ["Ada Lovelace"] and "[Glacier]" in first["snippet"]
    assert second["title"] == "River levels" and first["score"] > second["score"]
    assert _lines(cli_run("--json", "search", "glacier").stdout) == [first, second]


def test_search_filters_and_plain_output(filled: Path, cli_run) -> None:
    result = cli_run("search", "glacier", "--license", "CC0*", "--collection", "data")
    assert result.exit_code == 0
    (line,) = result.stdout.splitlines()                  # not a TTY: tab-separated columns
    assert line.split("\t")[0] == "River levels" and line.split("\t")[3] == "data"
    assert cli_run("search", "glacier", "--after", "2022", "--json").stdout == ""


@pytest.mark.parametrize("args, message", [
    (["((("], "nothing to search for"),
    (["x" * 5000], "query too long"),
    (["glacier", "--after", "tomorrow"], "not a date"),
    (["glacier", "--license", "CC BY"], "not an SPDX licence id"),
    (["glacier", "--limit", "0"], "limit must be between"),
])
def test_a_bad_query_is_one_line_and_exit_2(filled: Path, cli_run, args: list[str],
                                            message: str) -> None:
    result = cli_run("search", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2 and "Traceback" not in result.output
    assert result.stdout == ""


def test_show_prints_metadata_and_provenance(filled: Path, cli_run) -> None:
    result = cli_run("show", PDF.cid)
    assert result.exit_code == 0
    for expected in ("Glacier retreat", "CC-BY-4.0", "https://example.org/glacier.pdf",
                     "2025-01-01T00:00:00Z", "application/pdf", PDF.sha256, "<record>g1</record>"):
        assert expected in result.stdout
    (doc,) = _lines(cli_run("show", PDF.cid, "--json").stdout)
    assert doc["source_id"] == "g1" and doc["http_status"] == 200
    assert doc["contents"][0]["cid"] == PDF.cid and doc["raw_record"] == "<record>g1</record>"
    assert _lines(cli_run("show", PDF.sha256, "--json").stdout) == [doc]


def test_show_of_an_unknown_cid_is_one_line_and_exit_1(filled: Path, cli_run) -> None:
    result = cli_run("show", "bafkreiunknown")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == "Error: no document with CID bafkreiunknown in the index"


def test_stats_counts_per_collection(filled: Path, cli_run) -> None:
    stats = json.loads(cli_run("stats", "--json").stdout)
    assert (stats["documents"], stats["contents"]) == (2, 2)
    assert stats["bytes"] == PDF.size + len("levels.csv")
    assert [(c["name"], c["documents"], c["licenses"]) for c in stats["collections"]] == [
        ("data", 1, {"CC0-1.0": 1}), ("papers", 1, {"CC-BY-4.0": 1})]
    text = cli_run("stats").stdout
    assert "documents  2" in text and "CC0-1.0: 1" in text


def test_db_current_and_upgrade(home_dir: Path, cli_run) -> None:
    before = json.loads(cli_run("--json", "db", "current").stdout)
    assert before["current"] is None and not before["up_to_date"]
    assert not (home_dir / "index.sqlite").exists()               # looking changes nothing
    result = cli_run("db", "upgrade")
    assert result.exit_code == 0 and "upgraded from nothing to" in result.stdout
    after = json.loads(cli_run("--json", "db", "current").stdout)
    assert after["current"] == after["head"] == before["head"] and after["up_to_date"]
    assert "the newest" in cli_run("db", "upgrade").stdout


def test_a_newer_schema_is_refused_with_a_hint(filled: Path, cli_run) -> None:
    with closing(sqlite3.connect(filled / "index.sqlite")) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
        conn.commit()
    for args in (["search", "glacier"], ["db", "upgrade"], ["db", "current"]):
        result = cli_run(*args)
        assert result.exit_code == 3
        assert result.stderr.startswith("Error: ") and "Hint: upgrade openmirror" in result.stderr
