"""Audits between real nodes: honest holders pass, damaged holders and liars fail and stop
counting as copies until they pass again; the audit route is bounded and rate limited."""

from __future__ import annotations

import os
import random
from pathlib import Path

import aiohttp
import pytest
from copies_helpers import SMALL, Swarm, Volunteer, document

from indexer import bindings
from indexer import audits as audit_rows
from indexer import feeds
from indexer.records import ContentIn
from mirror.node.copies.audit import MAX_BLOCKS, audit_holder, audit_round, challenge, sample_blocks
from mirror.node.copies.census import take_census
from mirror.home import Home
from mirror.node.copies.holdings import pull_holdings
from mirror.store import open_store
from mirror.store.cid import CID, DAG_PB, RAW
from mirror.store.exporter import walk_dag
from indexer.clock import entry_time

DATA = os.urandom(40_000)              # ~40 leaves of 1 KiB under a 4-ary tree


async def copies_of(by: Volunteer, sha256: str) -> int:
    states = await take_census(by.node.index, me=by.node_id, holder_timeout=600)
    return next(s.copies for s in states if s.sha256 == sha256)


async def claim(liar: Volunteer, content: ContentIn) -> None:
    """Make LIAR announce CONTENT as held without having any of its blocks."""
    await liar.node.index.upsert_document(document(content), origin="om" + "b" * 52)
    async with liar.node.index.transaction() as tx:
        conn = await tx.connection()
        ids = await feeds.content_ids(conn, [content.sha256])
        await feeds.set_held(conn, ids.values(), [], entry_time())
    await liar.publish()


async def round_by(auditor: Volunteer, count: int = 10) -> dict[str, str]:
    outcomes = await audit_round(auditor.node.index, auditor.node.store, auditor.node.session,
                                 me=auditor.node_id, holder_timeout=600, count=count)
    found: dict[str, str] = {}
    for o in outcomes:                      # an author fails the round if any of its audits failed
        if found.get(o.author) != "failed":
            found[o.author] = o.status
    return found


async def setup(swarm: Swarm, tmp_path: Path) -> tuple[Volunteer, Volunteer, ContentIn]:
    """An honest holder A and an auditor B; both hold DATA, B knows A's announcement."""
    a, b = await swarm.start("a"), await swarm.start("b")
    content = await a.add(tmp_path, "data.bin", DATA)
    b.put_bytes(tmp_path, "data.bin", DATA)
    await b.node.index.upsert_document(document(content))
    await a.publish()
    await pull_into(b, a)
    return a, b, content


async def pull_into(into: Volunteer, source: Volunteer) -> None:
    await pull_holdings(into.node.session, source.url, into.node.index)


def dag(v: Volunteer, cid: str) -> list[CID]:
    return [c for c, _ in walk_dag(v.node.store.blocks, CID.decode(cid))]


def test_samples_cover_the_leaves_of_a_dag(tmp_path: Path) -> None:
    store = open_store(Home.open(tmp_path / "h"))
    (tmp_path / "f").write_bytes(DATA)
    root = store.add_file(tmp_path / "f", SMALL).cid
    leaves = {c for c, _ in walk_dag(store.blocks, root) if c.codec != DAG_PB}
    seen: set[CID] = set()
    rng = random.Random(1)
    for _ in range(40):
        picked = sample_blocks(store.blocks, root, 4, rng)
        assert len(picked) == 4 and set(picked) <= leaves
        seen |= set(picked)
    assert len(seen) > len(leaves) * 0.8


async def test_an_honest_holder_passes_and_counts(swarm: Swarm, tmp_path: Path) -> None:
    a, b, content = await setup(swarm, tmp_path)
    assert await round_by(b) == {a.node_id: "passed"}
    async with b.node.index.read() as conn:
        [result] = await audit_rows.audit_results(conn)
    assert result["ok"] and result["sha256"] == content.sha256 and result["failures"] == 0
    assert await copies_of(b, content.sha256) == 1


@pytest.mark.parametrize("damage", ["delete", "corrupt"])
async def test_a_holder_that_lost_or_damaged_blocks_fails(swarm: Swarm, tmp_path: Path, damage: str) -> None:
    a, b, content = await setup(swarm, tmp_path)
    for cid in dag(a, content.cid)[1:]:            # every block below the root
        path = a.node.store.blocks.path_of(cid)
        if damage == "delete":
            path.unlink()
        else:
            path.write_bytes(b"\x00" + path.read_bytes()[1:])
    assert await round_by(b) == {a.node_id: "failed"}
    assert await copies_of(b, content.sha256) == 0


async def test_a_liar_fails_loses_its_copies_and_regains_them_by_passing(swarm: Swarm, tmp_path: Path) -> None:
    a, b, content = await setup(swarm, tmp_path)
    liar = await swarm.start("liar")
    other = ContentIn(sha256="ab" * 32, size=10, cid=str(CID.of(b"other", RAW)), profile="unixfs-v1-2025")
    await b.node.index.upsert_document(document(other), origin=a.node_id)
    await claim(liar, content)
    await claim(liar, other)
    await pull_into(b, liar)
    assert await copies_of(b, content.sha256) == 2 and await copies_of(b, other.sha256) == 1
    assert (await round_by(b))[liar.node_id] == "failed"
    assert await copies_of(b, content.sha256) == 1
    assert await copies_of(b, other.sha256) == 0          # distrusted: none of its claims count
    liar.put_bytes(tmp_path, "data.bin", DATA)            # it gets the data after all
    assert (await round_by(b))[liar.node_id] == "passed"
    assert await copies_of(b, content.sha256) == 2 and await copies_of(b, other.sha256) == 1


async def test_a_claim_pointing_at_another_nodes_url_fails(swarm: Swarm, tmp_path: Path) -> None:
    a, b, content = await setup(swarm, tmp_path)
    impostor = await swarm.start("impostor")
    impostor.node.url = a.url                            # announces a's URL as its own
    await claim(impostor, content)
    await pull_into(b, impostor)
    outcome = await audit_holder(b.node.session, b.node.store, author=impostor.node_id, url=a.url,
                                 sha256=content.sha256, cid=content.cid)
    assert outcome.status == "failed" and "signed" in outcome.detail


async def test_an_unreachable_holder_is_recorded_as_failing(swarm: Swarm, tmp_path: Path) -> None:
    a, b, content = await setup(swarm, tmp_path)
    await a.stop()
    assert await round_by(b) == {a.node_id: "unreachable"}
    assert await copies_of(b, content.sha256) == 0


async def test_the_audit_route_is_bounded_and_rate_limited(swarm: Swarm, tmp_path: Path) -> None:
    a, b, content = await setup(swarm, tmp_path)
    blocks = [str(c) for c in dag(a, content.cid)]
    url = f"{a.url}/api/v1/audit"
    answer = await challenge(b.node.session, a.url, content.cid, blocks[:2], b"\x01" * 32)
    assert answer.node_id == a.node_id and answer.signed and all(answer.proofs)
    async with aiohttp.ClientSession() as http:
        bad = [{"cid": content.cid, "blocks": blocks[:MAX_BLOCKS + 1], "nonce": "00" * 32},
               {"cid": content.cid, "blocks": [], "nonce": "00" * 32},
               {"cid": content.cid, "blocks": blocks[:1], "nonce": "zz" * 32},
               {"cid": "not-a-cid", "blocks": blocks[:1], "nonce": "00" * 32},
               {"cid": content.cid, "blocks": blocks[:1], "nonce": "00"}]
        for body in bad:
            async with http.post(url, json=body) as resp:
                assert resp.status == 400, body
        async with http.post(url, data=b"{" + b" " * 20_000 + b"}") as resp:
            assert resp.status == 413
        statuses = []
        for _ in range(12):
            async with http.post(url, json={"cid": content.cid, "blocks": blocks[:1], "nonce": "00" * 32}) as resp:
                statuses.append(resp.status)
        assert 429 in statuses and statuses[0] == 200


async def test_a_node_that_does_not_hold_a_content_audits_the_claims_it_relies_on(
        swarm: Swarm, tmp_path: Path) -> None:
    """C holds nothing, but its binding of the content is verified (it checked the bytes once):
    it fetches one random walk of the DAG from each claimant's gateway, then challenges it over
    those blocks. The honest holder passes; a key that holds nothing fails and is distrusted."""
    a, _b, content = await setup(swarm, tmp_path)
    c, liar = await swarm.start("c"), await swarm.start("liar")
    await c.node.index.upsert_document(document(content), origin=a.node_id)
    async with c.node.index.transaction() as tx:
        await bindings.add_checks(await tx.connection(),
                                  [bindings.Check(content.cid, content.sha256, content.size)], entry_time())
    await claim(liar, content)
    await pull_into(c, a)
    await pull_into(c, liar)
    assert await round_by(c, count=0) == {a.node_id: "passed", liar.node_id: "failed"}
    async with c.node.index.read() as conn:
        assert await audit_rows.is_distrusted(conn, liar.node_id)
        assert not await audit_rows.is_distrusted(conn, a.node_id)
    assert not c.node.store.has(CID.decode(content.cid))     # nothing was kept
