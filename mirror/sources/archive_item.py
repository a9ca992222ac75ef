"""One Internet Archive item, read from the metadata API (``/metadata/IDENTIFIER``), as a record.

``metadata.title``, ``creator``, ``description`` (markup and escapes reduced to text), ``subject``
(``;``-separated or a list), ``language`` and ``mediatype``; the date is ``date``, else the day of
``publicdate``, else of ``addeddate``; ``licenseurl`` and ``rights`` are the licence statements, as
found. Files are the item's *original* files (``source == "original"``), without IA's own
metadata files (``_meta.xml``, ``_files.xml``, ``__ia_thumb.jpg``, torrents, ...), derivatives or
private files; each is ``BASE/download/IDENTIFIER/NAME``. The datestamp is ``item_last_updated``
(it changes with every edit), else ``publicdate``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from mirror.sources.base import FileRef, Metadata, Record
from mirror.sources.files import file_type
from mirror.sources.text import plain_text
from indexer.clock import second_time

MAX_RAW = 256 * 1024
SKIP_FORMATS = frozenset({"metadata", "item tile", "archive bittorrent", "collection header",
                          "item image", "thumbnail", "json", "metadata sqlite"})
SKIP_SUFFIXES = ("_meta.xml", "_files.xml", "_meta.sqlite", "_reviews.xml", "__ia_thumb.jpg",
                 "_archive.torrent", "_itemimage.jpg")


def item_record(identifier: str, data: dict[str, Any], base: str) -> Record:
    md = data.get("metadata") or {}
    subjects = tuple(s.strip() for v in many(md.get("subject")) for s in v.split(";") if s.strip())
    files = tuple(FileRef(f"{base}/download/{quote(identifier)}/{quote(f['name'])}", name=f["name"],
                          media_type=file_type(f["name"]), size=_int(f.get("size")))
                  for f in data.get("files") or [] if _original(f))
    metadata = Metadata(
        title=plain_text(one(md.get("title")) or identifier), creators=tuple(many(md.get("creator"))),
        description="\n\n".join(plain_text(d) for d in many(md.get("description"))),
        subjects=subjects, date=item_date(md), language=one(md.get("language")),
        type=one(md.get("mediatype")), source_url=files[0].url if files else None,
        landing_url=f"{base}/details/{quote(identifier)}",
        raw_record=json.dumps(md, ensure_ascii=False)[:MAX_RAW])
    statements = tuple(many(md.get("licenseurl")) + many(md.get("rights")))
    return Record(identifier, metadata, files, statements,
                  datestamp=_updated(data) or one(md.get("publicdate")))


def _original(f: Any) -> bool:
    if not isinstance(f, dict) or not f.get("name") or f.get("source") != "original":
        return False
    if str(f.get("private", "")).lower() == "true":
        return False
    name = str(f["name"])
    return str(f.get("format", "")).lower() not in SKIP_FORMATS and not name.endswith(SKIP_SUFFIXES)


def many(value: Any) -> list[str]:
    """A metadata field as a list of strings (the API gives a single value as a string)."""
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return [str(v).strip() for v in values if str(v).strip()]


def one(value: Any) -> str | None:
    values = many(value)
    return values[0] if values else None


def _int(value: Any) -> int | None:
    return int(value) if str(value or "").isdigit() else None


def _updated(data: dict[str, Any]) -> str | None:
    stamp = data.get("item_last_updated")
    if not isinstance(stamp, int):
        return None
    return second_time(datetime.fromtimestamp(stamp, timezone.utc))


def item_date(md: dict[str, Any]) -> str | None:
    """The item's ``date``, else the day it was made public, else the day it was added."""
    found = one(md.get("date"))
    if found:
        return found
    stamp = one(md.get("publicdate")) or one(md.get("addeddate"))
    return stamp[:10] if stamp else None

