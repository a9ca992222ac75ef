"""Remote pinning against a fake IPFS Pinning Service that follows the v1.0.0 spec."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
from copies_helpers import make_home

from indexer.records import ContentIn, DocumentIn
from mirror.node.copies.pinning import (
    Pin,
    PinClient,
    PinningError,
    origins_for,
    replicate_to_pinning_service,
)
from mirror.services import open_home
from mirror.store.cid import CID, RAW
from tests.fakes.pinning import FakePinningService

TOKEN = "secret-token"


def cid_of(i: int) -> str:
    return str(CID.of(f"content {i}".encode(), RAW))


def doc(i: int, collection: str = "theses", cids: list[str] | None = None, license: str = "CC-BY-4.0") -> DocumentIn:
    contents = [ContentIn(sha256=f"{i:064x}", size=10, cid=c, profile="unixfs-v1-2025", name=f"file-{i}.pdf")
                for c in (cids or [cid_of(i)])]
    return DocumentIn(collection=collection, source_id=f"doc-{i}", title=f"Thesis {i}", license=license,
                      contents=contents)


@pytest.fixture
async def service():
    fake = await FakePinningService(TOKEN).start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture
async def client(service):
    async with aiohttp.ClientSession() as session:
        yield PinClient(session, service.url, TOKEN)


@pytest.fixture
async def index(tmp_path: Path):
    """The index of a home whose documents this node wrote itself: their CIDs are verified."""
    async with open_home(make_home(tmp_path / "home")) as services:
        yield services.index


async def test_the_fake_requires_the_bearer_token(service) -> None:
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            async with http.get(f"{service.url}/pins", headers=headers) as resp:
                assert resp.status == 401
                assert (await resp.json())["error"]["reason"] == "UNAUTHORIZED"
    async with aiohttp.ClientSession() as session:
        with pytest.raises(PinningError, match="access token") as caught:
            await PinClient(session, service.url, "wrong").list_pins()
    assert caught.value.status == 401 and "pinning.token" in (caught.value.hint or "")


async def test_add_get_replace_delete(service, client) -> None:
    service.pin_delay = 60.0
    added = await client.add(Pin(cid_of(1), "one", ("/dns/a.example/tcp/443/https",), {"k": "v"}))
    assert added.status == "queued" and added.pin == Pin(cid_of(1), "one", ("/dns/a.example/tcp/443/https",), {"k": "v"})
    assert added.created.endswith("Z") and 1 <= len(added.delegates) <= 20
    assert (await client.list_pins())[0] == 0                            # default: pinned only
    assert (await client.list_pins(status=["queued"]))[0] == 1
    service.pins[added.requestid].settles_at = 0.0
    assert (await client.get(added.requestid)).status == "pinned"
    replaced = await client.replace(added.requestid, Pin(cid_of(2), "two"))
    assert replaced.requestid != added.requestid and replaced.pin.cid == cid_of(2)
    with pytest.raises(PinningError, match="no such pin") as caught:
        await client.get(added.requestid)
    assert caught.value.status == 404
    await client.delete(replaced.requestid)
    assert service.pins == {}
    with pytest.raises(PinningError, match="refused the request"):
        await client.add(Pin("not-a-cid"))


async def test_filters_and_pagination(service, client) -> None:
    for i in range(25):
        await client.add(Pin(cid_of(i), f"Report-{i:02d}", meta={"collection": "a" if i % 2 else "b"}))
    count, page = await client.list_pins(limit=10)
    assert count == 25 and len(page) == 10
    assert [p.created for p in page] == sorted((p.created for p in page), reverse=True)
    every = [p async for p in client.iter_pins(page_size=10)]
    assert len(every) == 25 and len({p.requestid for p in every}) == 25
    assert (await client.list_pins(cids=[cid_of(3), cid_of(4)]))[0] == 2
    assert (await client.list_pins(name="report-03"))[0] == 0
    assert (await client.list_pins(name="report-03", match="iexact"))[0] == 1
    assert (await client.list_pins(name="Report-1", match="partial"))[0] == 10
    assert (await client.list_pins(meta={"collection": "a"}))[0] == 12
    middle = every[12].created
    assert (await client.list_pins(before=middle, limit=1000))[0] == 12
    assert (await client.list_pins(after=middle, limit=1000))[0] == 12
    for bad in ({"limit": 0}, {"limit": 1001}, {"cids": [cid_of(i) for i in range(11)]},
                {"status": ["lost"]}, {"match": "fuzzy"}):
        with pytest.raises(PinningError) as caught:
            await client.list_pins(**bad)
        assert caught.value.status == 400


async def test_replication_is_idempotent_and_retries_failed_pins(service, client, index) -> None:
    shared = cid_of(100)
    await index.upsert_documents([doc(1), doc(2, cids=[cid_of(2), shared]), doc(3, cids=[shared]),
                                  doc(4, "maps")])
    service.failing.add(cid_of(1))
    first = await replicate_to_pinning_service(index, client, ["theses"],
                                               origins=origins_for("http://127.0.0.1:8470"))
    assert (first.contents, first.pinned, first.already, first.failed) == (3, 3, 0, [])
    [pin] = service.by_cid(cid_of(2))
    assert pin.pin["meta"] == {"collection": "theses", "sha256": f"{2:064x}", "license": "CC-BY-4.0"}
    assert pin.pin["origins"] == ["/ip4/127.0.0.1/tcp/8470/http"] and pin.pin["name"] == "file-2.pdf"
    assert service.by_cid(cid_of(4)) == []                            # another collection
    again = await replicate_to_pinning_service(index, client, ["theses"])
    assert (again.pinned, again.already, again.retried) == (0, 2, 1)  # cid 1 had failed: asked again
    assert len(service.pins) == 3


async def test_a_bad_pin_is_recorded_and_fatal_errors_stop_the_run(service, client, index) -> None:
    service.refused.add(cid_of(2))
    await index.upsert_documents([doc(1), doc(2), doc(3)])
    report = await replicate_to_pinning_service(index, client, ["theses"])
    assert report.pinned == 2 and [f["cid"] for f in report.failed] == [cid_of(2)]
    await index.upsert_documents([doc(4), doc(5)])
    service.funds_left = 1
    with pytest.raises(PinningError, match="insufficient funds") as caught:
        await replicate_to_pinning_service(index, client, ["theses"])
    assert caught.value.status == 409
    service.fail_next = 1
    with pytest.raises(PinningError, match="try again later|failed"):
        await replicate_to_pinning_service(index, client, ["theses"])
    with pytest.raises(PinningError, match="cannot reach"):
        await replicate_to_pinning_service(index, PinClient(client.session, "http://127.0.0.1:9", TOKEN), ["theses"])


def test_origins_are_http_multiaddrs() -> None:
    assert origins_for("") == ()
    assert origins_for("https://mirror.example.org") == ("/dns/mirror.example.org/tcp/443/https",)
    assert origins_for("http://[::1]:8470/") == ("/ip6/::1/tcp/8470/http",)


async def test_the_pin_remote_command(service, home_dir: Path, cli_run) -> None:
    home = make_home(home_dir)
    async with open_home(home) as services:
        await services.index.upsert_documents([doc(1), doc(2)])
    unset = await asyncio.to_thread(cli_run, "pin", "remote", "--collection", "theses")
    assert unset.exit_code == 2 and "no pinning service" in unset.output
    home.settings_file.write_text(f'[pinning]\nendpoint = "{service.url}"\ntoken = "{TOKEN}"\n'
                                  'collections = ["theses"]\n')
    result = await asyncio.to_thread(cli_run, "pin", "remote", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["pinned"] == 2 and len(service.pins) == 2
    home.settings_file.write_text(f'[pinning]\nendpoint = "{service.url}"\ntoken = "nope"\n')
    refused = await asyncio.to_thread(cli_run, "pin", "remote", "--collection", "theses")
    assert refused.exit_code == 1 and "Error: the pinning service refused the access token" in refused.output
