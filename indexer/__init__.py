"""The metadata index: SQLite (WAL, FTS5) behind SQLAlchemy 2, with its own error tree.

The public API, importable from here::

    from indexer import Index, DocumentIn, ContentIn, SearchQuery, QueryError

``Index`` (open it through ``mirror.services.open_home``), ``Transaction``, the value types of
``indexer.records`` and the errors of ``indexer.errors``. The names resolve on first use (PEP 562),
so ``import indexer`` alone loads neither SQLAlchemy nor the models: a command that only needs an
error class or a value type starts fast. ``indexer`` imports neither ``mirror`` nor ``cli``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Index": "indexer.index", "Transaction": "indexer.transaction",
    "Change": "indexer.records", "CollectionIn": "indexer.records", "CollectionStats": "indexer.records",
    "ContentIn": "indexer.records", "ContentOut": "indexer.records", "DocumentIn": "indexer.records",
    "DocumentOut": "indexer.records", "Hit": "indexer.records", "IndexStats": "indexer.records",
    "RecordState": "indexer.records", "SearchQuery": "indexer.records", "UpsertResult": "indexer.records",
    "IndexError_": "indexer.errors", "QueryError": "indexer.errors", "NotIndexed": "indexer.errors",
    "SchemaTooNew": "indexer.errors", "DatabaseDamaged": "indexer.errors",
    "ReadOnlyIndex": "indexer.errors",
}

__all__ = [
    "Change",
    "CollectionIn",
    "CollectionStats",
    "ContentIn",
    "ContentOut",
    "DatabaseDamaged",
    "DocumentIn",
    "DocumentOut",
    "Hit",
    "Index",
    "IndexError_",
    "IndexStats",
    "NotIndexed",
    "QueryError",
    "ReadOnlyIndex",
    "RecordState",
    "SchemaTooNew",
    "SearchQuery",
    "Transaction",
    "UpsertResult",
]

if TYPE_CHECKING:
    from indexer.errors import (DatabaseDamaged, IndexError_, NotIndexed, QueryError, ReadOnlyIndex,
                                SchemaTooNew)
    from indexer.index import Index
    from indexer.records import (Change, CollectionIn, CollectionStats, ContentIn, ContentOut, DocumentIn,
                                 DocumentOut, Hit, IndexStats, RecordState, SearchQuery, UpsertResult)
    from indexer.transaction import Transaction


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'indexer' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
