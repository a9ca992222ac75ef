"""Upsert semantics, dedupe, the change hook, retraction, reads and harvest state."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from index_helpers import content, document
from sqlalchemy import text

from indexer.index import Index
from indexer.records import Change, CollectionIn, DocumentIn, SearchQuery


async def _hits(index: Index, query: str, **filters: object) -> list[str]:
    return [h.title for h in await index.search(SearchQuery(query, **filters))]


async def test_stored_then_unchanged_then_updated(index: Index) -> None:
    doc = document("a", description="first", contents=[content("bytes of a")])
    first = await index.upsert_document(doc)
    assert first.status == "stored"
    assert (await index.upsert_document(doc)).status == "unchanged"
    changed = dataclasses.replace(doc, description="second")
    again = await index.upsert_document(changed)
    assert again.status == "updated" and again.document_id == first.document_id
    stored = await index.get_document("papers", "a")
    assert stored is not None and stored.description == "second"


async def test_a_new_fetch_of_the_same_document_is_unchanged(index: Index) -> None:
    doc = document("a", retrieved_at="2024-01-01T00:00:00Z", http_status=200,
                   http_headers={"etag": "1"}, contents=[content("x")])
    await index.upsert_document(doc)
    refetched = dataclasses.replace(doc, retrieved_at="2025-01-01T00:00:00Z",
                                    http_headers={"etag": "1", "date": "today"})
    assert (await index.upsert_document(refetched)).status == "unchanged"


async def test_a_changed_file_list_is_an_update(index: Index) -> None:
    doc = document("a", contents=[content("v1")])
    await index.upsert_document(doc)
    result = await index.upsert_document(dataclasses.replace(doc, contents=[content("v2")]))
    assert result.status == "updated"
    stored = await index.get_document("papers", "a")
    assert stored is not None and [c.sha256 for c in stored.contents] == [content("v2").sha256]


async def test_same_bytes_under_two_documents_are_one_content(index: Index) -> None:
    shared = content("the same bytes", name="paper.pdf")
    await index.upsert_documents([document("a", contents=[shared]),
                                  document("b", collection="other", contents=[shared])])
    docs = await index.find_by_cid(shared.cid)
    assert sorted(d.source_id for d in docs) == ["a", "b"]
    stats = await index.stats()
    assert stats.contents == 1 and stats.bytes == shared.size
    assert [c.bytes for c in stats.collections] == [shared.size, shared.size]
    found = await index.get_content(shared.sha256)
    assert found is not None and found.cid == shared.cid
    assert await index.get_content(shared.cid) == found


async def test_stored_record_round_trips(index: Index) -> None:
    doc = document("a", title="Ünïcode title", creators=["Lovelace, Ada", 'Quote "Q"'],
                   description="d", subjects=["math", "engines"], language="en", date="1843",
                   type="article", source_url="https://example.org/a.pdf",
                   landing_url="https://example.org/a", license="CC0-1.0",
                   license_url="https://creativecommons.org/publicdomain/zero/1.0/",
                   license_statement="CC0", retrieved_at="2025-01-01T00:00:00Z", http_status=200,
                   http_headers={"content-type": "application/pdf"}, raw_record="<record/>",
                   contents=[content("one", name="a.pdf", url="https://example.org/a.pdf"),
                             content("two", media_type=None)])
    await index.upsert_document(doc)
    stored = await index.get_document("papers", "a")
    assert stored is not None and not stored.deleted and stored.id > 0
    assert stored.to_document_in() == doc
    assert await index.get_document("papers", "missing") is None


async def test_a_collection_is_created_on_first_use_and_updated(index: Index) -> None:
    await index.upsert_document(document("a", collection="new"))
    coll_id = await index.upsert_collection(CollectionIn("new", "https://example.org/oai", "oai-pmh"))
    assert await index.upsert_collection(CollectionIn("new")) == coll_id   # None keeps values
    (stats,) = (await index.stats()).collections
    assert (stats.name, stats.source_url, stats.kind) == ("new", "https://example.org/oai", "oai-pmh")


async def test_repeated_keys_in_one_batch_apply_in_order(index: Index) -> None:
    results = await index.upsert_documents([document("a", description="v1"),
                                            document("a", description="v2"),
                                            document("a", description="v2")])
    assert [r.status for r in results] == ["stored", "updated", "unchanged"]
    stored = await index.get_document("papers", "a")
    assert stored is not None and stored.description == "v2"


async def test_listeners_hear_of_changes_after_commit_only(index: Index) -> None:
    heard: list[list[Change]] = []
    during: list[int] = []

    async def listener(changes: list[Change]) -> None:
        heard.append(changes)

    index.add_listener(listener)
    async with index.transaction() as tx:
        await tx.upsert_document(document("a"))
        await tx.upsert_document(document("b"))
        during.append(len(heard))
    assert during == [0]
    assert [[(c.kind, c.document.source_id) for c in batch] for batch in heard] == [
        [("stored", "a"), ("stored", "b")]]
    await index.upsert_document(document("a"))                 # unchanged: nothing to tell
    assert len(heard) == 1
    index.remove_listener(listener)
    await index.upsert_document(document("c"))
    assert len(heard) == 1


async def test_a_rolled_back_transaction_stores_and_reports_nothing(index: Index) -> None:
    heard: list[list[Change]] = []

    async def listener(changes: list[Change]) -> None:
        heard.append(changes)

    index.add_listener(listener)
    with pytest.raises(RuntimeError):
        async with index.transaction() as tx:
            await tx.upsert_document(document("a", collection="fresh"))
            await tx.set_state("fresh", "token", "t1")
            raise RuntimeError("crawler died")
    assert heard == [] and await index.get_document("fresh", "a") is None
    assert await index.get_state("fresh", "token") is None
    await index.upsert_document(document("b", collection="fresh"))  # the collection is made anew
    assert [c.document.source_id for c in heard[0]] == ["b"]


async def test_writing_beside_the_held_transaction_fails_instead_of_hanging(index: Index) -> None:
    with pytest.raises(RuntimeError, match="nested index write"):
        async with index.transaction() as tx:
            await tx.upsert_document(document("a"))
            await index.upsert_document(document("b"))
    assert await index.get_document("papers", "a") is None
    assert (await index.upsert_document(document("b"))).status == "stored"


async def test_a_failing_listener_does_not_undo_the_write(index: Index) -> None:
    async def broken(changes: list[Change]) -> None:
        raise ValueError("listener bug")

    index.add_listener(broken)
    assert (await index.upsert_document(document("a"))).status == "stored"
    assert await index.get_document("papers", "a") is not None


async def test_callers_write_their_own_rows_in_the_same_transaction(index: Index) -> None:
    async with index.transaction() as tx:
        await tx.session.execute(text("CREATE TABLE IF NOT EXISTS scratch (n INTEGER)"))
        await tx.session.execute(text("INSERT INTO scratch VALUES (1)"))
        await tx.upsert_document(document("a"))
    async with index.transaction() as tx:
        assert (await tx.session.execute(text("SELECT count(*) FROM scratch"))).scalar() == 1


async def test_retract_hides_the_document_and_a_new_upsert_restores_it(index: Index) -> None:
    heard: list[Change] = []

    async def listener(changes: list[Change]) -> None:
        heard.extend(changes)

    doc = document("a", title="Analytical engine notes", contents=[content("notes")])
    await index.upsert_document(doc)
    index.add_listener(listener)
    assert await index.retract("papers", "a") is True
    assert await index.retract("papers", "a") is False
    assert await index.retract("papers", "never") is False
    assert [(c.kind, c.document.title) for c in heard] == [("retracted", doc.title)]
    stored = await index.get_document("papers", "a")
    assert stored is not None and stored.deleted
    assert await _hits(index, "analytical") == []
    assert await index.find_by_cid(doc.contents[0].cid) == []
    assert (await index.stats()).retracted == 1
    assert (await index.upsert_document(doc)).status == "updated"
    assert await _hits(index, "analytical") == [doc.title]
    await index.check()


async def test_text_arriving_later_is_searchable_for_every_holder(index: Index) -> None:
    bare = content("shared pdf bytes")
    await index.upsert_document(document("a", title="First", contents=[bare]))
    with_text = dataclasses.replace(bare, text="zebra crossings in rotterdam")
    await index.upsert_document(document("b", title="Second", contents=[with_text]))
    assert sorted(await _hits(index, "zebra")) == ["First", "Second"]
    await index.check()


async def test_iter_documents_pages_through_everything(index: Index) -> None:
    await index.upsert_documents([document(str(i), collection="c1" if i % 2 else "c2")
                                  for i in range(7)])
    await index.retract("c1", "1")
    every = [d.source_id async for d in index.iter_documents(batch=2)]
    assert every == ["0", "2", "3", "4", "5", "6"]
    only = [d.source_id async for d in index.iter_documents("c2", batch=2)]
    assert only == ["0", "2", "4", "6"]
    with_deleted = [d.source_id async for d in index.iter_documents(batch=3, include_deleted=True)]
    assert with_deleted == [str(i) for i in range(7)]


async def test_stats_count_documents_bytes_and_licences(index: Index) -> None:
    await index.upsert_documents([
        document("a", license="CC-BY-4.0", contents=[content("1234")]),
        document("b", license="CC0-1.0", contents=[content("12"), content("1234")]),
        document("c", license=None),
        document("d", collection="z", license="CC0-1.0", contents=[content("123")]),
    ])
    stats = await index.stats()
    assert (stats.documents, stats.contents, stats.bytes) == (4, 3, 9)
    papers, z = stats.collections
    assert (papers.name, papers.documents, papers.bytes) == ("papers", 3, 6)
    assert papers.licenses == {"CC-BY-4.0": 1, "CC0-1.0": 1, "": 1}
    assert (z.documents, z.bytes, z.licenses) == (1, 3, {"CC0-1.0": 1})


async def test_stats_leave_out_retracted_and_private_documents_but_not_what_others_share(index: Index) -> None:
    """A content counts once in the totals and once in each collection using it, as long as some
    live (and, unless asked, public) document uses it."""
    await index.upsert_documents([
        document("a", contents=[content("1234")]),
        document("b", contents=[content("12"), content("1234")]),
        document("r1", contents=[content("12")]),              # retracted: "12" stays (b)
        document("r2", contents=[content("12345")]),           # retracted: "12345" goes
        document("p", contents=[content("123456")]),           # private
        document("d", collection="z", contents=[content("123"), content("1234")]),
    ])
    await index.retract("papers", "r1")
    await index.retract("papers", "r2")
    async with index.transaction() as tx:
        await (await tx.connection()).exec_driver_sql("UPDATE documents SET private = 1 WHERE source_id = 'p'")
    public, every = await index.stats(), await index.stats(include_private=True)
    assert (public.documents, public.retracted, public.contents, public.bytes) == (3, 2, 3, 9)
    assert [(c.name, c.documents, c.bytes) for c in public.collections] == [("papers", 2, 6), ("z", 1, 7)]
    assert (every.documents, every.retracted, every.contents, every.bytes) == (4, 2, 4, 15)
    assert [(c.name, c.documents, c.bytes) for c in every.collections] == [("papers", 3, 12), ("z", 1, 7)]


async def test_harvest_state_and_record_status(index: Index) -> None:
    assert await index.get_state("oai", "token") is None
    await index.set_state("oai", "token", "abc")
    await index.set_state("oai", "token", "def")
    assert await index.get_state("oai", "token") == "def"
    await index.set_state("oai", "token", None)
    assert await index.get_state("oai", "token") is None
    for source_id, status in [("r1", "in_flight"), ("r2", "in_flight"), ("r3", "done")]:
        await index.set_record_status("oai", source_id, status, datestamp="2024-05-01")
    await index.set_record_status("oai", "r2", "done", detail="stored")
    assert [r.source_id for r in await index.list_records("oai", "in_flight")] == ["r1"]
    assert [r.source_id for r in await index.list_records("oai", "done", after="r2")] == ["r3"]
    record = await index.get_record_status("oai", "r2")
    assert record is not None and (record.status, record.detail) == ("done", "stored")
    assert await index.count_records("oai") == {"in_flight": 1, "done": 2}


async def test_records_marked_by_a_pass_are_counted(index: Index) -> None:
    await index.upsert_collection(CollectionIn("oai"))
    for source_id, status, detail in (("a", "stored", "2026-01-01T00:00:00.1 x"),
                                      ("b", "stored", "2026-01-01T00:00:00.1"),
                                      ("c", "stored", "2025-12-31T00:00:00.1"),
                                      ("d", "skipped", "2026-01-01T00:00:00.1"), ("e", "stored", "2026_01%01")):
        await index.set_record_status("oai", source_id, status, detail=detail)
    assert await index.count_marked("oai", "stored", "2026-01-01T00:00:00.1") == 2
    assert await index.count_marked("oai", "stored", "2026_01-") == 0      # LIKE's wildcards are text:
    assert await index.count_marked("oai", "stored", "2026%") == 0         # as wildcards they would
    assert await index.count_marked("oai", "stored", "2026_01%") == 1      # match a and b, or all four
    assert await index.count_marked("none", "stored", "") == 0


async def test_harvest_states_in_bulk(index: Index) -> None:
    await index.set_state("site", "http:a", "1")
    async with index.transaction() as tx:
        await tx.set_states("site", {"http:a": None, "http:b": "2", "http:c": "3"})
        await tx.set_states("other", {"http:b": "elsewhere"})
    assert await index.get_states("site", ["http:a", "http:b", "http:c", "http:d", "http:b"]) == {
        "http:b": "2", "http:c": "3"}
    assert await index.get_states("site", []) == {} and await index.get_states("none", ["http:b"]) == {}


_examples = itertools.count()
_ids = st.sampled_from(["a", "b", "c", "d"])
_ops = st.lists(st.tuples(st.sampled_from(["upsert", "retract"]), _ids,
                          st.sampled_from(["alpha", "beta", "gamma"])), min_size=1, max_size=12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=_ops)
async def test_any_sequence_of_writes_keeps_search_consistent(index: Index, ops: list) -> None:
    name = f"c{next(_examples)}"          # a fresh collection per example, one index for all
    live: dict[str, str] = {}
    for op, source_id, word in ops:
        if op == "upsert":
            await index.upsert_documents([DocumentIn(name, source_id, title=f"{word} {source_id}",
                                                     contents=[content(word)])])
            live[source_id] = word
        else:
            assert await index.retract(name, source_id) == (source_id in live)
            live.pop(source_id, None)
    await index.check()
    for word in ("alpha", "beta", "gamma"):
        hits = await index.search(SearchQuery(word, collection=name))
        assert sorted(h.title for h in hits) == sorted(f"{w} {s}" for s, w in live.items() if w == word)
