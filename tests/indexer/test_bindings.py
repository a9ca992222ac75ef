"""Content bindings (``indexer.bindings``): a claim is a candidate until a check of its CID's bytes
proves it; a verified binding is never replaced by a later claim; false claims are evidence; an
author's claims can be forgotten, and with them every binding they made."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import AsyncIterator

import pytest

from indexer import tallies
from indexer.db import on_query
from indexer import bindings
from indexer.bindings import Check, Claim
from indexer.index import Index
from indexer.records import ContentIn, DocumentIn

NOW = "2026-12-01T00:00:00.000000Z"
SHA = hashlib.sha256(b"the paper").hexdigest()
OTHER = hashlib.sha256(b"another file").hexdigest()


@pytest.fixture
async def index(tmp_path: Path) -> AsyncIterator[Index]:
    opened = await Index.open(tmp_path / "index.sqlite")
    await opened.upsert_document(DocumentIn(collection="c", source_id="paper", title="paper",
                                            contents=[ContentIn(SHA, 9, "bafy-first", "p")]))
    try:
        yield opened
    finally:
        await opened.close()


async def claim(index: Index, *found: Claim) -> set[str]:
    async with index.transaction() as tx:
        return await bindings.add_claims(await tx.connection(), list(found), NOW)


async def check(index: Index, *found: Check) -> set[str]:
    async with index.transaction() as tx:
        return await bindings.add_checks(await tx.connection(), list(found), NOW)


async def bound(index: Index) -> tuple[str, int, bool]:
    async with index.read() as conn:
        found = await bindings.binding(conn, SHA)
    assert found is not None
    return found.cid, found.size, found.verified


async def statuses(index: Index) -> dict[tuple[str, str, int], str]:
    async with index.read() as conn:
        from sqlalchemy import select
        rows = await conn.execute(select(bindings.claims))
    return {(r.author, r.cid, r.size): r.status for r in rows}


async def test_a_claim_binds_only_once_its_bytes_are_checked(index: Index) -> None:
    await claim(index, Claim(SHA, "bafy-first", 9, "p", "liar"), Claim(SHA, "bafy-real", 9, "p", "author"))
    assert await bound(index) == ("bafy-first", 9, False)         # the first claim: a candidate
    assert await check(index, Check("bafy-first", OTHER, 12)) == {SHA}
    assert await bound(index) == ("bafy-real", 9, False)          # the next candidate
    await check(index, Check("bafy-real", SHA, 9))
    assert await bound(index) == ("bafy-real", 9, True)
    await claim(index, Claim(SHA, "bafy-later", 9, "p", "late"), Claim(SHA, "bafy-real", 99, "p", "size"))
    await check(index, Check("bafy-later", OTHER, 9))
    assert await bound(index) == ("bafy-real", 9, True)           # never replaced
    assert await statuses(index) == {
        ("liar", "bafy-first", 9): "mismatch", ("author", "bafy-real", 9): "verified",
        ("late", "bafy-later", 9): "mismatch", ("size", "bafy-real", 99): "mismatch"}
    async with index.read() as conn:
        assert await on_query(conn, tallies.dispute_totals) == (3, 3)
        shown = {(d.author, d.status, d.found_sha256) for d in await bindings.disputed(conn)}
    assert ("liar", "mismatch", OTHER) in shown and ("size", "mismatch", SHA) in shown


async def test_another_cid_for_a_verified_content_is_a_conflict_until_checked(index: Index) -> None:
    await claim(index, Claim(SHA, "bafy-real", 9, "p", "author"))
    await check(index, Check("bafy-real", SHA, 9))
    await claim(index, Claim(SHA, "bafy-other", 9, "p", "x"))
    assert (await statuses(index))[("x", "bafy-other", 9)] == "conflict"
    await check(index, Check("bafy-other", SHA, 9))                # another profile, same bytes
    assert (await statuses(index))[("x", "bafy-other", 9)] == "verified"
    assert await bound(index) == ("bafy-real", 9, True)


async def test_forgetting_an_author_takes_back_what_its_claims_bound(index: Index) -> None:
    await claim(index, Claim(SHA, "bafy-x", 9, "p", "x"), Claim(SHA, "bafy-a", 9, "p", "a"))
    await check(index, Check("bafy-x", SHA, 9))
    assert await bound(index) == ("bafy-x", 9, True)
    async with index.transaction() as tx:
        assert await bindings.forget_author(await tx.connection(), "x", NOW) == {SHA}
    assert await bound(index) == ("bafy-a", 9, False)             # only a's unchecked claim is left
    assert set(await statuses(index)) == {("a", "bafy-a", 9)}


async def test_candidates_put_authors_caught_lying_last(index: Index) -> None:
    await claim(index, Claim(OTHER, "bafy-lie", 5, "p", "liar"))
    await check(index, Check("bafy-lie", SHA, 9))                  # caught once
    await claim(index, Claim(SHA, "bafy-l", 9, "p", "liar"), Claim(SHA, "bafy-h", 9, "p", "honest"))
    async with index.read() as conn:
        found = [c.cid for c in await bindings.candidates(conn, SHA)]
    assert found == ["bafy-h", "bafy-l"]
