"""The OAI-PMH source against the local repository (tests.servers.oai) with the real Fetcher."""

from __future__ import annotations

import asyncio
import time

import pytest

from mirror.errors import FetchError, NotACollection
from mirror.sources import SourceOptions, open_source
from mirror.sources.oai_pmh import OAIPMHSource, base_url
from tests.servers.oai import DAY, OAIServer
from tests.sources.harvest import harvest


def source(server: OAIServer, **options) -> OAIPMHSource:
    return OAIPMHSource(server.url, SourceOptions(**options))


async def test_full_harvest_pages_with_checkpoints_and_total(oai_server, fetcher):
    src = source(oai_server)
    run = await harvest(src, fetcher)
    assert len(run.records) == 40
    assert src.total == 40
    assert src.repository and src.repository.name == "Fake Repository"
    assert src.formats == ["oai_dc", "oai_qdc"]
    # a checkpoint after each of the first three pages, holding the token of the NEXT page
    assert [set(c) for c in run.checkpoints[:3]] == [{"resumption_token", "list_from", "started", "last", "prefix"}] * 3
    assert run.checkpoints[0]["last"] == "2020-01-10T12:00:00Z"       # the datestamp of record 9
    assert run.final.keys() == {"from"} and run.final["from"].endswith("Z")
    assert len(oai_server.requests_for("ListRecords")) == 4


async def test_records_are_read_from_oai_dc(oai_server, fetcher):
    run = await harvest(source(oai_server), fetcher)
    rec = run.by_id()["oai:fake.example:0"]
    doc = rec.metadata
    assert doc.title == "Record 0: a file record"
    assert list(doc.creators) == ["Author 0", "Coauthor, A."]
    assert list(doc.subjects) == ["testing", "file"]
    assert doc.description == "Abstract of record 0."
    assert (doc.date, doc.language, doc.type) == ("2020-01-01", "en", "Text")
    assert "<dc:title>Record 0: a file record</dc:title>" in doc.raw_record
    assert rec.datestamp == "2020-01-01T12:00:00Z"
    assert [f.url for f in rec.files] == [oai_server.root + "/files/rec-0.pdf"]
    assert rec.files[0].media_type == "application/pdf"
    assert list(rec.license_statements) == ["http://creativecommons.org/licenses/by/4.0/"]


async def test_deleted_records_come_out_deleted(oai_server, fetcher):
    run = await harvest(source(oai_server), fetcher)
    deleted = [r for r in run.records if r.deleted]
    assert [r.source_id for r in deleted] == ["oai:fake.example:6", "oai:fake.example:16",
                                             "oai:fake.example:26", "oai:fake.example:36"]
    assert all(list(r.files) == [] and r.datestamp for r in deleted)


async def test_files_are_discovered_on_landing_pages(oai_server, fetcher):
    recs = (await harvest(source(oai_server), fetcher)).by_id()
    root = oai_server.root
    dspace = recs["oai:fake.example:1"]
    assert [f.url for f in dspace.files] == [root + "/bitstream/handle/123/1/paper.pdf"]
    assert dspace.metadata.landing_url == root + "/handle/123/1"
    assert list(dspace.license_statements) == ["info:eu-repo/semantics/openAccess",
                                         "https://creativecommons.org/licenses/by-sa/4.0/"]
    ojs = recs["oai:fake.example:2"]
    assert [f.url for f in ojs.files] == [root + "/index.php/j/article/download/2/102"]
    alternate = recs["oai:fake.example:3"]
    assert [(f.url, f.media_type) for f in alternate.files] == [(root + "/files/rec-3.epub",
                                                                  "application/epub+zip")]
    arxiv = recs["oai:fake.example:4"]
    assert [f.url for f in arxiv.files] == [root + "/pdf/4"]
    assert list(arxiv.license_statements) == ["http://arxiv.org/licenses/nonexclusive-distrib/1.0/"]
    # a landing page without file links is the file itself; its Link header adds the licence
    landing = recs["oai:fake.example:8"]
    assert [f.url for f in landing.files] == [root + "/page/8"]
    assert landing.files[0].page is not None and b"No file here" in landing.files[0].page.body
    assert list(landing.license_statements) == ["http://creativecommons.org/licenses/by/4.0/"]


async def test_relation_files_and_records_without_files(oai_server, fetcher):
    recs = (await harvest(source(oai_server), fetcher)).by_id()
    assert [f.url for f in recs["oai:fake.example:5"].files] == [oai_server.root + "/files/rec-5.txt"]
    assert list(recs["oai:fake.example:5"].license_statements) == ["info:eu-repo/semantics/openAccess"]
    csv = recs["oai:fake.example:7"]
    assert [f.url for f in csv.files] == [oai_server.root + "/files/rec-7.csv"]
    assert csv.metadata.landing_url == "https://doi.org/10.5555/fake.7"
    assert list(recs["oai:fake.example:9"].files) == []       # metadata only: the pipeline decides
    # no landing page was fetched for records that named their file
    assert not any(p.startswith("/page/7") or p == "/doi" for p, _, _ in oai_server.requests)


async def test_set_restricts_the_harvest(oai_server, fetcher):
    run = await harvest(source(oai_server, set_spec="math"), fetcher)
    assert len(run.records) == 20
    assert all(int(r.source_id.rsplit(":", 1)[1]) % 2 == 1 for r in run.records)
    assert all(q.get("set") == "math" for q in oai_server.requests_for("ListRecords")
               if "resumptionToken" not in q)


async def test_unknown_set_is_not_a_collection(oai_server, fetcher):
    with pytest.raises(NotACollection, match="no set 'chemistry'") as info:
        await harvest(source(oai_server, set_spec="chemistry"), fetcher)
    assert "physics" in (info.value.hint or "")


async def test_set_on_a_repository_without_sets(oai_server, fetcher):
    oai_server.supports_sets = False
    with pytest.raises(NotACollection, match="noSetHierarchy"):
        await harvest(source(oai_server, set_spec="math"), fetcher)


async def test_unsupported_metadata_format_is_not_a_collection(oai_server, fetcher):
    with pytest.raises(NotACollection, match="'marcxml'") as info:
        await harvest(source(oai_server, metadata_prefix="marcxml"), fetcher)
    assert info.value.hint == "it offers: oai_dc, oai_qdc"


async def test_qualified_dublin_core_reads_the_same_fields(oai_server, fetcher):
    recs = (await harvest(source(oai_server, metadata_prefix="oai_qdc"), fetcher)).by_id()
    rec = recs["oai:fake.example:0"]
    assert rec.metadata.description == "Abstract of record 0."       # dcterms:abstract
    assert rec.metadata.date == "2020-01-01"                         # dcterms:issued
    assert list(rec.license_statements) == ["http://creativecommons.org/licenses/by/4.0/"]  # dcterms:license


async def test_resume_from_a_checkpoint_continues_with_the_next_page(oai_server, fetcher):
    first = await harvest(source(oai_server), fetcher, stop_after_checkpoints=2)
    assert len(first.records) == 20
    rest = await harvest(source(oai_server), fetcher, first.checkpoints[-1])
    assert [r.source_id for r in first.records + rest.records] == \
        [f"oai:fake.example:{i}" for i in range(40)]
    assert rest.final["from"] == first.checkpoints[-1]["started"]


async def test_an_expired_token_restarts_the_list_from_the_last_datestamp(oai_server, fetcher):
    first = await harvest(source(oai_server), fetcher, stop_after_checkpoints=1)
    oai_server.expire_tokens()
    rest = await harvest(source(oai_server), fetcher, first.checkpoints[-1])
    # the list is in datestamp order: it restarts from record 9's datestamp, so record 9 comes again
    # (the pipeline finds it unchanged) and nothing before it
    assert [r.source_id for r in rest.records] == [f"oai:fake.example:{i}" for i in range(9, 40)]
    lists = oai_server.requests_for("ListRecords")[-5:]
    assert lists[0]["resumptionToken"] == first.checkpoints[-1]["resumption_token"]
    assert lists[1] == {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-01-10T12:00:00Z"}
    assert all("resumptionToken" in q for q in lists[2:])
    assert rest.final["from"] == first.checkpoints[-1]["started"]


async def test_incremental_harvest_uses_from(oai_server, fetcher):
    done = await harvest(source(oai_server), fetcher)
    oai_server.touch(3)
    oai_server.touch(12, deleted=True)
    again = await harvest(source(oai_server), fetcher, done.final)
    assert sorted(r.source_id for r in again.records) == ["oai:fake.example:12", "oai:fake.example:3"]
    assert again.by_id()["oai:fake.example:12"].deleted
    last = oai_server.requests_for("ListRecords")[-1]
    assert last["from"] == done.final["from"]
    assert again.final["from"] >= done.final["from"]


async def test_nothing_new_is_an_empty_harvest_not_an_error(oai_server, fetcher):
    done = await harvest(source(oai_server), fetcher)
    again = await harvest(source(oai_server), fetcher, {"from": "2999-01-01T00:00:00Z"})
    assert again.records == [] and again.checkpoints == [{"from": again.final["from"]}]
    assert done.final["from"] <= again.final["from"] != "2999-01-01T00:00:00Z"


async def test_day_granularity_cuts_from_to_a_date(oai_server, fetcher):
    oai_server.granularity = DAY
    done = await harvest(source(oai_server), fetcher)
    assert len(done.final["from"]) == 10
    oai_server.touch(5)
    again = await harvest(source(oai_server), fetcher, done.final)
    assert [r.source_id for r in again.records] == ["oai:fake.example:5"]
    assert again.by_id()["oai:fake.example:5"].datestamp == done.final["from"]


async def test_flow_control_503_retry_after_is_obeyed(oai_server, fetcher):
    oai_server.retry_after = 1
    oai_server.page_size = 20
    run = await harvest(source(oai_server), fetcher)
    assert len(run.records) == 40
    lists = [(q, t) for p, q, t in oai_server.requests if q.get("verb") == "ListRecords"]
    assert len(lists) == 4      # each page: a 503, then the answer
    assert lists[1][1] - lists[0][1] >= 0.95 and lists[3][1] - lists[2][1] >= 0.95


async def test_limit_stops_without_a_final_checkpoint(oai_server, fetcher):
    run = await harvest(source(oai_server, limit=15), fetcher)
    assert len(run.records) == 15
    assert all("resumption_token" in c for c in run.checkpoints)


async def test_protocol_errors_name_their_code(oai_server, fetcher):
    src = source(oai_server)
    src.prefix = "oai_dc"
    await src.identify(fetcher)
    with pytest.raises(FetchError, match="badArgument"):
        await src._call(fetcher, verb="ListRecords", metadataPrefix="oai_dc", until="yesterday")
    with pytest.raises(FetchError, match="idDoesNotExist"):
        await src._call(fetcher, verb="GetRecord", metadataPrefix="oai_dc", identifier="oai:nope:1")
    with pytest.raises(NotACollection, match="badVerb"):
        await src._call(fetcher, verb="Harvest")


async def test_detect_and_open(oai_server, fetcher):
    assert await OAIPMHSource.detect(oai_server.url, fetcher)
    assert not await OAIPMHSource.detect(oai_server.root + "/files/rec-0.pdf", fetcher)
    opened = await open_source(oai_server.url + "?verb=Identify", fetcher, SourceOptions())
    assert isinstance(opened, OAIPMHSource) and opened.base == oai_server.url
    assert opened.default_collection() == f"127.0.0.1-{oai_server.url.split(':')[2].split('/')[0]}-oai"


def test_base_url_drops_protocol_arguments_only():
    assert base_url("https://r.example/oai?verb=ListRecords&metadataPrefix=oai_dc&repo=x") == \
        "https://r.example/oai?repo=x"


async def test_the_fake_speaks_oai_pmh_to_a_third_party_harvester(oai_server):
    """sickle (an independent OAI-PMH client) harvests the fake repository completely."""
    sickle = pytest.importorskip("sickle")

    def harvest_all() -> list[str]:
        client = sickle.Sickle(oai_server.url)
        return [h.identifier for h in client.ListIdentifiers(metadataPrefix="oai_dc", ignore_deleted=False)]

    started = time.monotonic()
    identifiers = await asyncio.to_thread(harvest_all)
    assert len(identifiers) == 40 and time.monotonic() - started < 10


async def test_forcing_oai_on_a_web_page_is_not_a_collection(site_server, fetcher):
    src = OAIPMHSource(site_server.docs, SourceOptions())
    with pytest.raises(NotACollection, match="not an OAI-PMH repository"):
        await harvest(src, fetcher)
