"""`openmirror mirror` against a local OAI-PMH repository, end to end through the real CLI."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from indexer.index import Index
from indexer.search import SearchQuery
from mirror.store.cid import CID
from mirror.store.profiles import get_profile
from mirror.store.unixfs import import_bytes

FAST = ("--delay", "0", "--per-host", "8")


async def mirror_json(cli_run, *args: str):
    res = await asyncio.to_thread(cli_run, "mirror", *args, *FAST, "--json")
    assert res.stdout.strip(), res.stderr
    return res, json.loads(res.stdout.strip().splitlines()[-1])


async def test_oai_harvest_gates_licences_stores_and_is_incremental(cli_run, home_dir: Path, oai_server):
    res, summary = await mirror_json(cli_run, oai_server.url)
    assert res.exit_code == 0, res.stderr
    # 40 records in ten shapes: file, dspace, csv and landing are open; the rest are gated
    assert summary["stored"] == 16
    assert summary["skipped"] == {"non-commercial": 4, "no-derivatives": 4, "arxiv-nonexclusive": 4,
                                  "open-access-without-license": 4, "no-file": 4}
    assert summary["failed"] == 0 and summary["gone"] == 4  # deleted records never held
    assert summary["bytes"] > 0

    index = await Index.open(home_dir / "index.sqlite")
    try:
        hits = await index.search(SearchQuery(text="record", limit=100))
        titles = {h.title for h in hits}
        assert "Record 0: a file record" in titles and "Record 2: a ojs record" not in titles
        by_shape = {h.title.split(" a ")[1].split()[0] for h in hits}
        assert by_shape == {"file", "dspace", "csv", "landing"}
        doc = await index.get_document(summary["collection"], "oai:fake.example:0")
        assert doc.license == "CC-BY-4.0" and doc.http_status == 200 and doc.retrieved_at
        assert doc.license_statement and doc.raw_record and "oai_dc" in doc.raw_record
        assert doc.contents and doc.contents[0].url.endswith(".pdf")
    finally:
        await index.close()

    # a gated record's bytes never reach the store
    nc = oai_server.records[2]
    for body in nc.files.values():
        cid = import_bytes(body, get_profile("unixfs-v1-2025")).cid
        assert not _has_block(home_dir, cid)

    # the rerun is incremental: nothing fetched again, everything unchanged
    files_before = _file_requests(oai_server)
    res, again = await mirror_json(cli_run, oai_server.url)
    assert again["stored"] == 0 and again["failed"] == 0
    assert _file_requests(oai_server) == files_before
    oai_server.touch(0)
    res, third = await mirror_json(cli_run, oai_server.url)
    assert third["stored"] == 1 and third["updated"] in (0, 1), json.dumps(third)


async def test_deleted_record_is_retracted(cli_run, home_dir: Path, oai_server):
    _, first = await mirror_json(cli_run, oai_server.url)
    oai_server.touch(0, deleted=True)
    _, second = await mirror_json(cli_run, oai_server.url)
    assert second["retracted"] == 1
    index = await Index.open(home_dir / "index.sqlite")
    try:
        hits = await index.search(SearchQuery(text="file", limit=100))
        assert "Record 0: a file record" not in {h.title for h in hits}
    finally:
        await index.close()


async def test_not_a_collection_is_one_line_exit_2(cli_run, origin):
    res = await asyncio.to_thread(cli_run, "mirror", origin.url("/file/10?ct=image/png"))
    assert res.exit_code == 2
    assert res.stderr.startswith("Error: ") and "Traceback" not in res.stderr


def _file_requests(server) -> int:
    return sum(1 for r in server.requests if not r.path.startswith(("/oai", "/robots.txt")))


def _has_block(home: Path, cid: CID) -> bool:
    from mirror.store.blockstore import BlockStore
    return BlockStore(home / "blocks").has(cid)


async def test_oai_errors_in_422_and_nothing_new_is_a_clean_run(cli_run, home_dir: Path, oai_server):
    """invenio-oaiserver (Zenodo) answers every OAI-PMH error with HTTP 422, noRecordsMatch included."""
    oai_server.error_status = 422
    res, first = await mirror_json(cli_run, oai_server.url)
    assert res.exit_code == 0 and first["stored"] == 16
    res, again = await mirror_json(cli_run, oai_server.url)
    assert res.exit_code == 0, res.stderr
    assert (again["stored"], again["unchanged"], again["failed"]) == (0, 0, 0) and "error" not in again
    assert oai_server.requests_for("ListRecords")[-1].keys() == {"verb", "metadataPrefix", "from"}


async def test_a_run_the_repository_stops_still_reports_and_resumes(cli_run, home_dir: Path, oai_server):
    """Tokens refused at once, newest first: the first page is handled, then the list cannot go on.
    The run prints its summary with the counts so far and the error, exits 1, and the rerun
    (tokens living again) goes on from where it stood without sending the dead token."""
    oai_server.order = "newest"
    oai_server.token_lifetime = 0
    oai_server.error_status = 422
    res, stopped = await mirror_json(cli_run, oai_server.url)
    assert res.exit_code == 1
    assert "refused resumption token" in stopped["error"] and "Error: " in res.stderr
    # the first page (records 39 .. 30: four open ones), listed twice (the restart); the second
    # time its stored records are found unchanged
    assert (stopped["stored"], stopped["unchanged"], stopped["failed"]) == (4, 4, 0)
    dead = {q["resumptionToken"] for q in oai_server.requests_for("ListRecords") if "resumptionToken" in q}
    oai_server.token_lifetime = None
    res, rest = await mirror_json(cli_run, oai_server.url)
    assert res.exit_code == 0 and "error" not in rest, res.stderr
    assert rest["stored"] == 12 and rest["unchanged"] == 4      # listed again from the start
    sent = [q.get("resumptionToken") for q in oai_server.requests_for("ListRecords")]
    assert sum(1 for t in sent if t in dead) == len(dead)   # each dead token was sent once, in the first run


async def test_a_stopped_run_prints_its_summary_line_too(cli_run, home_dir: Path, oai_server):
    oai_server.order = "newest"
    oai_server.token_lifetime = 0
    res = await asyncio.to_thread(cli_run, "mirror", oai_server.url, *FAST)
    assert res.exit_code == 1 and "Traceback" not in res.stderr
    assert res.stdout.startswith("127.0.0.1") and "stored" in res.stdout
    assert res.stderr.startswith("Error: ") and "refused resumption token" in res.stderr


async def test_the_richer_format_a_repository_offers_is_harvested(cli_run, home_dir: Path, oai_server):
    oai_server.formats = ["oai_dc", "oai_openaire"]
    res, s = await mirror_json(cli_run, oai_server.url)
    assert res.exit_code == 0 and s["stored"] == 16, res.stderr
    index = await Index.open(home_dir / "index.sqlite")
    try:
        doc = await index.get_document(s["collection"], "oai:fake.example:1")
        assert doc.creators == ["Author 1 (https://orcid.org/0000-0002-1825-0001)", "Coauthor, A."]
        assert (doc.type, doc.license) == ("journal article", "CC-BY-SA-4.0") and "oaire:" in doc.raw_record
    finally:
        await index.close()
    res, forced = await mirror_json(cli_run, oai_server.url, "--metadata-prefix", "oai_dc", "--collection", "dc")
    assert res.exit_code == 0 and forced["stored"] == 16
    assert [q["metadataPrefix"] for q in oai_server.requests_for("ListRecords") if "metadataPrefix" in q] == \
        ["oai_openaire", "oai_dc"]
