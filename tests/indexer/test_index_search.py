"""Search semantics: ranking, filters, phrases, prefixes, snippets, hostile input, Unicode."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from index_helpers import content, document

from indexer.errors import QueryError
from indexer.index import Index
from indexer.records import DocumentIn, SearchQuery
from indexer.search import fts_query

HIT_FIELDS = ["cid", "sha256", "title", "creators", "license", "license_url", "source_url",
              "collection", "media_type", "size", "date", "score", "snippet", "private"]


def _corpus_documents() -> list[DocumentIn]:
    filler = [document(f"f{i}", title=f"Filler record {i}", description="nothing to see",
                       license="Unlicense") for i in range(10)]
    return filler + [
        document("title-hit", title="Glacier retreat in the Alps",
                 description="measurements over forty years", license="CC-BY-4.0",
                 date="2021-03-04", language="en", type="article",
                 contents=[content("pdf 1", media_type="application/pdf")]),
        document("body-hit", title="Mountain hydrology",
                 description="runoff from a glacier in spring", license="CC-BY-SA-4.0",
                 date="2019", language="en-GB", type="dataset", collection="data"),
        document("phrase", title="Open data portals", description="publishing open data",
                 license="CC0-1.0", date="2023-11", language="de", type="article",
                 creators=["Lovelace, Ada"], subjects=["climatology"]),
        document("scattered", title="Data about open water", license="MIT", date="2024-01-15",
                 contents=[content("csv", text="temperature readings, climate normals")]),
        document("unicode", title="Café culture in Москва", description="东京 notes",
                 license="CC-BY-NC-4.0", date="2022-06-30"),
    ]


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus, indexed once per module; each test searches its own copy."""
    path = tmp_path_factory.mktemp("corpus") / "index.sqlite"

    async def build() -> None:
        async with await Index.open(path) as index:
            await index.upsert_documents(_corpus_documents())

    asyncio.run(build())
    return path


@pytest.fixture
async def corpus(corpus_file: Path, tmp_path: Path) -> AsyncIterator[Index]:
    copy = tmp_path / "corpus.sqlite"
    shutil.copyfile(corpus_file, copy)
    async with await Index.open(copy) as index:
        yield index


async def _titles(index: Index, text: str, **filters: object) -> list[str]:
    return [h.title for h in await index.search(SearchQuery(text, **filters))]


async def test_a_title_hit_ranks_above_a_body_hit(corpus: Index) -> None:
    hits = await corpus.search(SearchQuery("glacier"))
    assert [h.title for h in hits] == ["Glacier retreat in the Alps", "Mountain hydrology"]
    assert hits[0].score > hits[1].score > 0


async def test_hits_carry_the_stable_fields(corpus: Index) -> None:
    (hit,) = await corpus.search(SearchQuery("retreat"))
    assert list(hit.to_dict()) == HIT_FIELDS
    pdf = content("pdf 1", media_type="application/pdf")
    assert (hit.cid, hit.sha256, hit.size, hit.media_type) == (pdf.cid, pdf.sha256, pdf.size,
                                                              "application/pdf")
    assert (hit.license, hit.collection, hit.date) == ("CC-BY-4.0", "papers", "2021-03-04")


async def test_phrases_need_the_words_together(corpus: Index) -> None:
    assert sorted(await _titles(corpus, "open data")) == ["Data about open water",
                                                          "Open data portals"]
    assert await _titles(corpus, '"open data"') == ["Open data portals"]


async def test_prefixes_match_word_beginnings(corpus: Index) -> None:
    assert sorted(await _titles(corpus, "clim*")) == ["Data about open water", "Open data portals"]
    assert await _titles(corpus, "clim") == []


async def test_words_in_creators_subjects_and_extracted_text_are_found(corpus: Index) -> None:
    assert await _titles(corpus, "lovelace") == ["Open data portals"]
    assert await _titles(corpus, "climatology") == ["Open data portals"]
    assert await _titles(corpus, "normals") == ["Data about open water"]


async def test_snippets_mark_the_matched_words(corpus: Index) -> None:
    (hit,) = await corpus.search(SearchQuery("runoff"))
    assert "[runoff]" in hit.snippet
    (hit,) = await corpus.search(SearchQuery("runoff", marks=("<mark>", "</mark>")))
    assert "<mark>runoff</mark>" in hit.snippet


@pytest.mark.parametrize("license_, expected", [
    ("CC-BY-4.0", ["title-hit"]),
    ("cc-by-4.0", ["title-hit"]),
    ("CC-BY*", ["body-hit", "title-hit", "unicode"]),
    ("CC-BY-SA*", ["body-hit"]),
    ("MIT", ["scattered"]),
    ("GPL-3.0-only", []),
])
async def test_license_filter_and_families(corpus: Index, license_: str, expected: list[str]) -> None:
    hits = await corpus.search(SearchQuery("", license=license_, limit=100))
    docs = {h.title: h for h in hits}
    by_title = {"Glacier retreat in the Alps": "title-hit", "Mountain hydrology": "body-hit",
                "Café culture in Москва": "unicode", "Data about open water": "scattered"}
    assert sorted(by_title[t] for t in docs) == expected


async def test_collection_type_and_language_filters(corpus: Index) -> None:
    assert await _titles(corpus, "glacier", collection="data") == ["Mountain hydrology"]
    assert await _titles(corpus, "glacier", collection="nowhere") == []
    assert await _titles(corpus, "glacier", type="ARTICLE") == ["Glacier retreat in the Alps"]
    assert sorted(await _titles(corpus, "glacier", lang="en")) == ["Glacier retreat in the Alps",
                                                                   "Mountain hydrology"]
    assert await _titles(corpus, "glacier", lang="en-gb") == ["Mountain hydrology"]
    assert await _titles(corpus, "data", lang="de") == ["Open data portals"]


@pytest.mark.parametrize("after, before, expected", [
    ("2021", None, ["2021-03-04", "2022-06-30", "2023-11", "2024-01-15"]),
    ("2021-03-05", None, ["2022-06-30", "2023-11", "2024-01-15"]),
    ("2023-11-20", None, ["2023-11", "2024-01-15"]),     # a month-precise date overlaps
    (None, "2021", ["2019"]),
    (None, "2021-03-04", ["2019"]),
    (None, "2021-03-05", ["2019", "2021-03-04"]),
    ("2020", "2023", ["2021-03-04", "2022-06-30"]),
])
async def test_date_filters(corpus: Index, after: str | None, before: str | None,
                            expected: list[str]) -> None:
    hits = await corpus.search(SearchQuery("", after=after, before=before, limit=100))
    assert sorted(h.date for h in hits if h.date) == expected
    assert all(h.date for h in hits)                      # undated documents drop out


async def test_an_empty_query_lists_the_newest_matching_the_filters(corpus: Index) -> None:
    hits = await corpus.search(SearchQuery("", limit=3))
    assert [h.title for h in hits] == ["Café culture in Москва", "Data about open water",
                                       "Open data portals"]
    assert all(h.score == 0.0 and h.snippet == "" for h in hits)


async def test_limit_is_respected_and_checked(corpus: Index) -> None:
    assert len(await corpus.search(SearchQuery("filler", limit=4))) == 4
    assert len(await corpus.search(SearchQuery("filler"))) == 10
    for bad in (0, -1, 1001):
        with pytest.raises(QueryError, match="limit"):
            await corpus.search(SearchQuery("filler", limit=bad))


async def test_unicode_folds_case_and_diacritics(corpus: Index) -> None:
    assert await _titles(corpus, "cafe") == ["Café culture in Москва"]
    assert await _titles(corpus, "МОСКВА") == ["Café culture in Москва"]
    assert await _titles(corpus, "东京") == ["Café culture in Москва"]


@pytest.mark.parametrize("field, value", [
    ("license", "CC BY"), ("license", ""), ("license", "MIT%"), ("after", "2021-13"),
    ("before", "last year"), ("after", "2021-02-30x"), ("lang", "english!"),
])
async def test_bad_filters_are_query_errors(corpus: Index, field: str, value: str) -> None:
    with pytest.raises(QueryError) as info:
        await corpus.search(SearchQuery("glacier", **{field: value}))
    assert "\n" not in str(info.value)


HOSTILE = [
    '"unbalanced', 'unbalanced"', '"a" "b', '"""', '"', "AND", "OR", "NOT", "NEAR", "a AND",
    "OR b", "NOT glacier", "NEAR(glacier retreat, 2)", "glacier OR", "glacier\x00retreat",
    "\x00", "(glacier", "glacier)", "()", "((((", "*", "**", "glacier**", "*glacier", "-glacier",
    "+glacier", "^glacier", "title:glacier", "{title}: glacier", "glacier:", "'; DROP TABLE documents; --",
    "' OR 1=1 --", "%", "_", "\\", "\\\"", "😀", "glacier 😀", "\u200b", "\t\n\r", "x" * 5000,
    "glacier " * 700, " ".join(["w"] * 40), "", "   ", "a" * 1000,
]


@pytest.mark.parametrize("text", HOSTILE, ids=[repr(t[:20]) for t in HOSTILE])
async def test_hostile_queries_search_sensibly_or_fail_with_one_line(corpus: Index,
                                                                     text: str) -> None:
    try:
        hits = await corpus.search(SearchQuery(text))
    except QueryError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert all(isinstance(h.title, str) for h in hits)
    assert await _titles(corpus, "retreat") == ["Glacier retreat in the Alps"]   # still fine


async def test_operators_are_plain_words(corpus: Index) -> None:
    assert await _titles(corpus, "NOT glacier") == []          # needs the word "not" too
    assert await _titles(corpus, "glacier\x00retreat") == ["Glacier retreat in the Alps"]
    assert await _titles(corpus, "(glacier") == await _titles(corpus, "glacier")


async def test_short_prefixes_are_refused(corpus: Index) -> None:
    with pytest.raises(QueryError, match="too short"):
        await corpus.search(SearchQuery("gl*"))
    assert await _titles(corpus, "gla*") == ["Glacier retreat in the Alps", "Mountain hydrology"]


async def test_a_search_running_too_long_is_stopped(index: Index) -> None:
    await index.upsert_documents([document(str(i), type="article") for i in range(3000)])
    slow = SearchQuery("", type="nothing-matches")          # scans every document
    assert await index.search(slow) == []
    with pytest.raises(QueryError, match="was stopped"):
        await index.search(slow, timeout=-1)
    assert len(await index.search(SearchQuery("document"))) == 20    # the connection still works


def test_every_term_is_quoted() -> None:
    assert fts_query('open "big data" clim* NOT (x) col:y') == (
        '"open" "big data" "clim"* "NOT" "(x)" "col:y"')
    assert fts_query('say "hi') == '"say" "hi"'
    assert fts_query("   ") is None
    with pytest.raises(QueryError):
        fts_query("(((")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=80) | st.text(alphabet='"*()^:-+ ANDORTNEa\x00', max_size=30))
async def test_any_query_string_runs_or_is_a_query_error(index: Index, text: str) -> None:
    try:
        await index.search(SearchQuery(text))
    except QueryError:
        pass


async def test_offset_passes_over_results_in_rank_order(corpus: Index) -> None:
    everything = await corpus.search(SearchQuery("", limit=1000))
    assert len(everything) > 12
    for offset in (0, 1, 5, 12):
        page = await corpus.search(SearchQuery("", limit=3, offset=offset))
        assert [h.sha256 for h in page] == [h.sha256 for h in everything[offset:offset + 3]]
    assert await corpus.search(SearchQuery("glacier", offset=1000)) == []
    for bad in (-1, 100_001):
        with pytest.raises(QueryError, match="offset must be between"):
            await corpus.search(SearchQuery("glacier", offset=bad))
