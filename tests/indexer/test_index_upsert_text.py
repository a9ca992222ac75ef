"""Text the index cannot store as UTF-8 (lone surrogates from JSON escapes) is cleaned, not a crash."""

import json
from pathlib import Path

from indexer.index import Index
from indexer.records import ContentIn, DocumentIn
from indexer.search import SearchQuery


async def test_lone_surrogates_are_replaced(tmp_path: Path):
    hostile = json.loads('"bad \\ud800 title"')
    doc = DocumentIn(collection="c", source_id="s", title=hostile, creators=[hostile],
                     http_headers={"X": hostile},
                     contents=[ContentIn(sha256="a" * 64, size=1, cid="bafkqaaa", profile="unixfs-v1-2025",
                                         text=hostile)])
    async with await Index.open(tmp_path / "i.sqlite") as index:
        result = await index.upsert_document(doc)
        assert result.status == "stored"
        stored = await index.get_document("c", "s")
        assert stored.title == "bad ? title" and stored.creators == ["bad ? title"]
        assert [h.title for h in await index.search(SearchQuery(text="title"))] == ["bad ? title"]
