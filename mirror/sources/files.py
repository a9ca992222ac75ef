"""Which URLs name files, and their media types, judged from the URL alone (no request).

Sources use this to tell a file (``.../paper.pdf``) from a landing page (``.../handle/123``) and to
give the pipeline a media-type hint; the response's own Content-Type wins when it is fetched.
"""

from __future__ import annotations

import posixpath
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
# <link rel="alternate"> types that are feeds or pages, not files of the document.
NOT_FILE_TYPES = HTML_TYPES | {"application/rss+xml", "application/atom+xml", "application/json+oembed",
                               "text/xml+oembed", "application/oai-pmh+xml"}


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
