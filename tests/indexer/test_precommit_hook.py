"""The pre-commit hook writes inside the document's transaction: both commit or neither does."""

from pathlib import Path

import pytest

from indexer.index import Index
from indexer.records import ContentIn, DocumentIn


def _doc(source_id: str) -> DocumentIn:
    return DocumentIn(collection="c", source_id=source_id, title="T " + source_id,
                      contents=[ContentIn(sha256=source_id.rjust(64, "0"), size=1,
                                          cid="bafkqaaa", profile="unixfs-v1-2025")])


async def test_hook_sees_changes_and_rolls_back_with_the_transaction(tmp_path: Path):
    index = await Index.open(tmp_path / "i.sqlite")
    seen: list[str] = []

    async def hook(tx, changes):
        seen.extend(c.document.source_id for c in changes)
        if any(c.document.source_id == "bad" for c in changes):
            raise RuntimeError("refused")

    index.add_precommit_hook(hook)
    await index.upsert_document(_doc("good"))
    with pytest.raises(RuntimeError):
        await index.upsert_document(_doc("bad"))
    assert seen == ["good", "bad"]
    assert await index.get_document("c", "good") is not None
    assert await index.get_document("c", "bad") is None
    await index.close()
