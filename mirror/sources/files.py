"""Which URLs name files, and their media types, judged from the URL alone (no request).

Sources use this to tell a file (``.../paper.pdf``) from a landing page (``.../handle/123``) and to
give the pipeline a media-type hint; the response's own Content-Type wins when it is fetched.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

# Extensions of files worth mirroring, with their media types.
FILE_TYPES: dict[str, str] = {
    ".pdf": "application/pdf", ".epub": "application/epub+zip", ".djvu": "image/vnd.djvu",
    ".txt": "text/plain", ".md": "text/markdown", ".rtf": "application/rtf",
    ".csv": "text/csv", ".tsv": "text/tab-separated-values", ".json": "application/json",
    ".jsonl": "application/jsonl", ".ndjson": "application/x-ndjson", ".geojson": "application/geo+json",
    ".xml": "application/xml", ".rdf": "application/rdf+xml", ".ttl": "text/turtle",
    ".kml": "application/vnd.google-earth.kml+xml", ".parquet": "application/vnd.apache.parquet",
    ".nc": "application/x-netcdf", ".h5": "application/x-hdf5",
    ".zip": "application/zip", ".gz": "application/gzip", ".tgz": "application/gzip",
    ".tar": "application/x-tar", ".bz2": "application/x-bzip2", ".xz": "application/x-xz",
    ".7z": "application/x-7z-compressed",
    ".doc": "application/msword", ".xls": "application/vnd.ms-excel",
    ".ppt": "application/vnd.ms-powerpoint",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
    ".tif": "image/tiff", ".tiff": "image/tiff", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
    ".jp2": "image/jp2", ".png": "image/png", ".gif": "image/gif", ".webp": "image/webp",
    ".svg": "image/svg+xml",
    ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".oga": "audio/ogg", ".flac": "audio/flac",
    ".wav": "audio/wav", ".mp4": "video/mp4", ".ogv": "video/ogg", ".webm": "video/webm",
    ".mkv": "video/x-matroska", ".avi": "video/x-msvideo",
}

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# The types a page's <link rel="alternate"> may offer as another form of the document itself. Every
# other alternate is page furniture: feeds (RSS, Atom), oEmbed, calendars, edit links (MediaWiki's
# application/x-wiki), API answers (WordPress's application/json) and metadata exports (RDF, Turtle,
# JSON-LD, BibTeX, RIS, MODS, MARC, DC XML): never mirrored as the document's files.
DOCUMENT_TYPES = frozenset({
    "application/pdf", "application/epub+zip", "text/plain", "text/markdown", "application/rtf",
    "image/vnd.djvu", "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation", "text/csv", "text/tab-separated-values",
})
# DSpace's derived and licence bitstreams (THUMBNAIL, TEXT, LICENSE and CC-LICENSE bundles): not content.
_DERIVED = re.compile(r"\.(?:pdf|docx?|odt|rtf|pptx?|xlsx?|epub|djvu|tiff?|jpe?g|png)\.(?:jpe?g|png|gif|txt)$"
                      r"|^(?:license\.txt|license_rdf|license_url|license_text)$", re.I)


def extension(url: str) -> str:
    """The lower-case extension of a URL's last path segment (``""`` when none)."""
    name = posixpath.basename(unquote(urlsplit(url).path))
    return posixpath.splitext(name)[1].lower()


def file_type(url: str) -> str | None:
    """The media type of a URL naming a known kind of file, else None."""
    return FILE_TYPES.get(extension(url))


def file_name(url: str) -> str | None:
    """The last path segment of a URL or path, unquoted; None when empty."""
    name = posixpath.basename(unquote(urlsplit(url).path).rstrip("/"))
    return name or None


def media_type_for_format(fmt: str | None) -> str | None:
    """A media type from a format label: ``"CSV"`` -> ``text/csv``; ``"text/csv"`` stays."""
    if not fmt:
        return None
    fmt = fmt.strip().lower()
    if "/" in fmt:
        return fmt.split(";")[0].strip()
    return FILE_TYPES.get("." + fmt.lstrip("."))


def is_derived(name: str | None) -> bool:
    """True for a repository's derived or licence file (``paper.pdf.jpg``, ``paper.pdf.txt``,
    ``license.txt``, ``license_rdf``), which is not the item's content."""
    return bool(name) and _DERIVED.search(name or "") is not None


def bare_type(content_type: str | None) -> str:
    """``"text/html; charset=utf-8"`` -> ``"text/html"``."""
    return (content_type or "").split(";")[0].strip().lower()


def is_html(content_type: str | None) -> bool:
    return bare_type(content_type) in HTML_TYPES


def local_path(location: str) -> Path | None:
    """The local path a location names (a plain path or a ``file://`` URL); None for other URLs."""
    parts = urlsplit(location)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme and len(parts.scheme) > 1:   # a one-letter scheme is a Windows drive
        return None
    return Path(location).expanduser()
