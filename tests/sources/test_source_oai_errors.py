"""OAI-PMH errors as repositories send them: in any HTTP status, and resumption tokens that expire.

The local repository (tests.servers.oai) answers errors with 200 (as the spec's examples), 422
(invenio-oaiserver: Zenodo, InvenioRDM), 400 (Europeana) or 404, and can expire its tokens after a
short time or at once."""

from __future__ import annotations

import asyncio
import time

import pytest

from mirror.errors import FetchError, NotACollection
from mirror.sources import SourceOptions
from mirror.sources.oai_pmh import OAIPMHSource
from tests.servers.oai import OAIServer
from tests.sources.harvest import harvest

STATUSES = [200, 400, 404, 422]


def source(server: OAIServer, **options) -> OAIPMHSource:
    return OAIPMHSource(server.url, SourceOptions(**options))


async def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)


def ids(records) -> list[int]:
    return [int(r.source_id.rsplit(":", 1)[1]) for r in records]


@pytest.mark.parametrize("status", STATUSES)
async def test_no_records_match_in_any_status_is_an_empty_list(oai_server, fetcher, status):
    oai_server.error_status = status
    run = await harvest(source(oai_server), fetcher, {"from": "2999-01-01T00:00:00Z"})
    assert run.records == [] and list(run.final) == ["from"]
    last = [r for r in oai_server.requests if r.query.get("verb") == "ListRecords"][-1]
    assert last.query["from"] == "2999-01-01T00:00:00Z"


@pytest.mark.parametrize("status", STATUSES)
async def test_protocol_errors_in_any_status_name_their_code(oai_server, fetcher, status):
    oai_server.error_status = status
    src = source(oai_server)
    await src.identify(fetcher)
    with pytest.raises(NotACollection, match="cannotDisseminateFormat"):
        await src._call(fetcher, verb="ListRecords", metadataPrefix="marcxml")
    with pytest.raises(FetchError, match="badArgument") as info:
        await src._call(fetcher, verb="ListRecords", metadataPrefix="oai_dc", until="yesterday")
    assert not info.value.retryable
    with pytest.raises(FetchError, match="idDoesNotExist"):
        await src._call(fetcher, verb="GetRecord", metadataPrefix="oai_dc", identifier="oai:nope:1")


@pytest.mark.parametrize("status", [400, 422])
async def test_a_bad_token_in_a_4xx_restarts_the_list(oai_server, fetcher, status):
    oai_server.error_status = status
    first = await harvest(source(oai_server), fetcher, stop_after_checkpoints=2)
    oai_server.expire_tokens()
    rest = await harvest(source(oai_server), fetcher, first.checkpoints[-1])
    assert ids(rest.records) == list(range(19, 40))
    assert rest.final.keys() == {"from"}


async def test_an_http_error_that_is_not_oai_pmh_stays_an_http_error(oai_server, fetcher):
    src = OAIPMHSource(oai_server.root + "/no-such-endpoint", SourceOptions())
    with pytest.raises(NotACollection, match="HTTP 404"):
        await harvest(src, fetcher)


async def test_tokens_that_expire_while_pages_are_handled_restart_from_the_last_datestamp(oai_server, fetcher):
    """Tokens live 0.2 s; the consumer is slower than that: every token is refused, and each
    restart begins at the latest datestamp listed, so the whole list still arrives in order."""
    oai_server.token_lifetime = 0.2
    seen: list[int] = []
    refused = 0
    async for item in source(oai_server).records(fetcher, {}):
        if hasattr(item, "state"):
            token = item.state.get("resumption_token")
            if token:
                await wait_until(lambda: oai_server.token_expired(token))
                refused += 1
        else:
            seen.extend(ids([item]))
    assert refused == 4 and sorted(set(seen)) == list(range(40))
    assert len(seen) == 40 + 4             # the last record of each refused page came again
    restarts = [q for q in oai_server.requests_for("ListRecords") if "from" in q]
    assert [q["from"] for q in restarts] == ["2020-01-10T12:00:00Z", "2020-01-19T12:00:00Z",
                                             "2020-01-28T12:00:00Z", "2020-02-06T12:00:00Z"]


async def test_out_of_order_lists_restart_from_the_start_and_stop_when_they_get_no_further(oai_server, fetcher):
    """Listed by identifier (datestamps out of order) with tokens refused at once: the first refusal
    restarts the whole list; the second, no further along, stops the run with an error, and the
    checkpoint it leaves holds no token, so the dead token is never sent again."""
    oai_server.order = "identifier"         # the first page: 0, 1, 10, ..., 19, 2
    oai_server.page_size = 13
    oai_server.error_status = 422
    oai_server.token_lifetime = 0
    run = harvest(source(oai_server), fetcher)
    with pytest.raises(FetchError, match="refused resumption token .* after 1 restart"):
        await run
    tokens = [q["resumptionToken"] for q in oai_server.requests_for("ListRecords") if "resumptionToken" in q]
    assert len(tokens) == 2 and len(set(tokens)) == 2
    assert len(oai_server.requests_for("ListRecords")) == 4


async def test_the_checkpoint_after_giving_up_holds_no_token(oai_server, fetcher):
    oai_server.order = "newest"
    oai_server.token_lifetime = 0
    checkpoints: list[dict[str, str]] = []
    with pytest.raises(FetchError):
        async for item in source(oai_server).records(fetcher, {"from": "2020-01-05T00:00:00Z"}):
            if hasattr(item, "state"):
                checkpoints.append(item.state)
    assert checkpoints[-1]["list_from"] == "2020-01-05T00:00:00Z" and "resumption_token" not in checkpoints[-1]
    oai_server.token_lifetime = None
    rest = await harvest(source(oai_server), fetcher, checkpoints[-1])
    assert sorted(ids(rest.records)) == list(range(4, 40))
    assert rest.final["from"] == checkpoints[-1]["started"]


async def test_a_saved_token_the_repository_refuses_is_sent_once(oai_server, fetcher):
    state = {"resumption_token": "expired-long-ago", "list_from": "", "started": "2024-01-01T00:00:00Z",
             "last": "2020-01-30T12:00:00Z"}
    oai_server.error_status = 422
    for _ in range(2):
        run = await harvest(source(oai_server), fetcher, state)
        assert ids(run.records) == list(range(29, 40))
        assert run.final == {"from": "2024-01-01T00:00:00Z"}
    sent = [q for q in oai_server.requests_for("ListRecords") if q.get("resumptionToken") == "expired-long-ago"]
    assert len(sent) == 2                  # once per run, never retried within one
