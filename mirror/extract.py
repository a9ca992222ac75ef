"""Text extraction for search, bounded in size and time.

``extract_text`` turns a stored file (a path, or its bytes already in memory) into plain text for
the full-text index: plain text (with a charset guess), HTML (visible text only), PDF (the text
layer, page by page), and the heads of CSV and JSON files. It reads at most a bounded prefix of a
file, stops a PDF after ``timeout`` seconds or ``MAX_PDF_PAGES`` pages, and returns at most
``max_chars`` characters. A file it cannot parse gives ``None``: the document is still stored and
found by its metadata. It never raises.

It is synchronous and CPU-bound: call it through ``asyncio.to_thread``.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import re
import time
from pathlib import Path
from typing import Callable, Iterator, cast

log = logging.getLogger(__name__)

MAX_PDF_PAGES = 500
HTML_BYTES = 8 << 20            # HTML pages larger than this are cut (parsing is in memory)
HEAD_BYTES = 100 << 10          # the "head" of a CSV or JSON file
CSV_ROWS = 100

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_JSON_STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"(\s*:)?')
_KINDS = {
    "text/plain": "text", "text/markdown": "text", "text/x-markdown": "text",
    "text/html": "html", "application/xhtml+xml": "html", "text/xml": "html",
    "application/xml": "html",
    "application/pdf": "pdf",
    "text/csv": "csv", "text/tab-separated-values": "csv",
    "application/json": "json", "application/ld+json": "json", "application/x-ndjson": "json",
    "application/jsonl": "json", "application/geo+json": "json",
}
_BLOCKS = ("title", "p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6",
           "section", "article", "header", "footer", "table", "ul", "ol", "pre", "blockquote",
           "dd", "dt", "figcaption", "caption", "hr", "nav", "aside", "main", "address")
_SUFFIXES = {".txt": "text", ".md": "text", ".text": "text", ".html": "html", ".htm": "html",
             ".xhtml": "html", ".xml": "html", ".pdf": "pdf", ".csv": "csv", ".tsv": "csv", ".json": "json",
             ".jsonl": "json", ".ndjson": "json", ".geojson": "json"}


def extract_text(source: Path | bytes, media_type: str | None, *, name: str | None = None,
                 max_chars: int = 200_000, timeout: float = 10.0) -> str | None:
    """Searchable text of a file (at most ``max_chars``), or None. SOURCE is its path or its bytes;
    NAME (default: the path's) gives the suffix that types a file served without a media type."""
    file = _Input(source, name)
    mime, charset = _parse_media_type(media_type)
    kind = _kind(file, mime)
    if kind is None:
        return None
    try:
        text = _EXTRACTORS[kind](file, charset, max_chars, timeout)
    except Exception as exc:  # any parser failure is an outcome: no text
        log.debug("no text from %s (%s): %s", file, kind, exc)
        return None
    text = _tidy(text or "")[:max_chars]
    return text or None


def is_light(source: Path | bytes, media_type: str | None, *, name: str | None = None) -> bool:
    """True when ``extract_text`` reads SOURCE without a parser (no HTML or PDF parsing): for a
    small body, quick enough to run on the event loop."""
    return _kind(_Input(source, name), _parse_media_type(media_type)[0]) not in ("html", "pdf")


WHOLE = -1          # ``reads``: the extractor needs the whole file (it parses it)


def reads(head: bytes, media_type: str | None, *, name: str | None = None,
          max_chars: int = 200_000) -> int:
    """How much of a file ``extract_text`` reads, judged from HEAD (its first bytes: at least 512,
    or the whole file when shorter): 0 (it gives no text), a byte count (it reads at most that
    many from the start), or ``WHOLE`` (a parser takes the whole file: HTML, PDF). The result is
    the same whether ``extract_text`` is then given the file, or, with a byte count N, its first
    N + 1 bytes (the extra byte tells it that the text was cut)."""
    kind = _kind(_Input(head, name), _parse_media_type(media_type)[0])
    if kind is None:
        return 0
    if kind in ("html", "pdf"):
        return WHOLE
    return max_chars * 4 if kind == "text" else HEAD_BYTES


class _Input:
    """The file being read: a path, or bytes held in memory (a small fetched body)."""

    def __init__(self, source: Path | bytes, name: str | None) -> None:
        self.data = bytes(source) if isinstance(source, (bytes, bytearray, memoryview)) else None
        self.path = None if self.data is not None else Path(source)  # type: ignore[arg-type]
        self.suffix = Path(name).suffix.lower() if name else (
            self.path.suffix.lower() if self.path is not None else "")

    def head(self, limit: int) -> bytes:
        """The first LIMIT bytes (OSError when the path cannot be read)."""
        if self.data is not None:
            return self.data[:limit]
        assert self.path is not None
        with self.path.open("rb") as f:
            return f.read(limit)

    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        assert self.path is not None
        return self.path.stat().st_size

    def stream(self) -> Path | io.BytesIO:
        """What a parser that reads files (pypdf) is given."""
        return io.BytesIO(self.data) if self.data is not None else self.path  # type: ignore[return-value]

    def __str__(self) -> str:
        return str(self.path) if self.path is not None else f"{len(self.data or b'')} bytes in memory"


def _parse_media_type(media_type: str | None) -> tuple[str, str | None]:
    if not media_type:
        return "", None
    mime, _, params = media_type.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"').lower()
    return mime.strip().lower(), charset


def _kind(file: _Input, mime: str) -> str | None:
    if mime in _KINDS:
        return _KINDS[mime]
    if mime.endswith("+json"):
        return "json"
    if mime.endswith("+xml"):
        return "html"                # the text of every element, markup dropped
    if mime.startswith("text/") and mime not in ("text/css", "text/javascript"):
        return "text"
    if mime in ("", "application/octet-stream", "binary/octet-stream"):
        return _SUFFIXES.get(file.suffix) or _sniff(file)
    return None


def _sniff(file: _Input) -> str | None:
    try:
        head = file.head(512)
    except OSError:
        return None
    if head.startswith(b"%PDF-"):
        return "pdf"
    if re.match(rb"\s*(<!doctype html|<html)", head, re.IGNORECASE):
        return "html"
    return None


def _read_head(file: _Input, limit: int, charset: str | None) -> str:
    """The first ``limit`` bytes of the file, decoded (see ``decode``)."""
    return decode(file.head(limit), charset, cut=file.size() > limit)


def decode(data: bytes, charset: str | None = None, *, cut: bool = False) -> str:
    """Bytes to text: BOM, then the declared charset, then UTF-8, then Windows-1252.

    With ``cut`` (``data`` is the head of a longer file) a character cut at the end is dropped.
    """
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                          (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return _decode(data[len(bom):], encoding, cut) or ""
    for name in (charset, "utf-8"):
        if name:
            decoded = _decode(data, name, cut)
            if decoded is not None:
                return decoded
    return data.decode("cp1252", errors="replace")


def _decode(data: bytes, encoding: str, cut: bool) -> str | None:
    try:
        return codecs.getincrementaldecoder(encoding)().decode(data, final=not cut)
    except (LookupError, UnicodeDecodeError):
        return None


def _tidy(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in _CONTROL.sub(" ", text).splitlines())
    return "\n".join(line for line in lines if line)


def _text(file: _Input, charset: str | None, max_chars: int, timeout: float) -> str:
    return _read_head(file, max_chars * 4, charset)


def _html(file: _Input, charset: str | None, max_chars: int, timeout: float) -> str:
    import lxml.html

    head = file.head(4096)
    text = _read_head(file, HTML_BYTES, charset or _meta_charset(head))
    text = _XML_DECLARATION.sub("", text, count=1)
    if not text.strip():
        return ""
    root = lxml.html.document_fromstring(text, parser=lxml.html.HTMLParser(remove_comments=True))
    for element in cast(list[lxml.html.HtmlElement], root.xpath("//script | //style | //noscript | //template")):
        element.drop_tree()
    for element in root.iter(*_BLOCKS):          # keep blocks apart, inline elements together
        element.tail = "\n" + (element.tail or "")
    return "".join(cast(Iterator[str], root.itertext()))


def _meta_charset(head: bytes) -> str | None:
    m = _META_CHARSET.search(head)
    return m.group(1).decode("ascii").lower() if m else None


def _pdf(file: _Input, charset: str | None, max_chars: int, timeout: float) -> str:
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    deadline = time.monotonic() + timeout
    reader = PdfReader(file.stream())
    if reader.is_encrypted and not reader.decrypt(""):
        return ""
    parts: list[str] = []
    size = 0
    for number, page in enumerate(reader.pages):
        if number >= MAX_PDF_PAGES or size >= max_chars or time.monotonic() > deadline:
            break
        text = page.extract_text() or ""
        parts.append(text)
        size += len(text)
    return "\n".join(parts)


def _csv(file: _Input, charset: str | None, max_chars: int, timeout: float) -> str:
    text = _read_head(file, HEAD_BYTES, charset)
    delimiter = "\t" if file.suffix == ".tsv" or "\t" in text.split("\n", 1)[0] else ","
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    return "\n".join(" ".join(cell for cell in row if cell)
                     for _, row in zip(range(CSV_ROWS), rows))


def _json(file: _Input, charset: str | None, max_chars: int, timeout: float) -> str:
    """Keys (once each) and string values found in the head; works on a cut-off document."""
    text = _read_head(file, HEAD_BYTES, charset)
    keys: dict[str, None] = {}
    values: list[str] = []
    for m in _JSON_STRING.finditer(text):
        try:
            value = json.loads(f'"{m.group(1)}"')
        except ValueError:
            continue
        if m.group(2):
            keys.setdefault(value)
        elif value.strip():
            values.append(value)
    return "\n".join([" ".join(keys)] + values)


_EXTRACTORS: dict[str, Callable[[_Input, str | None, int, float], str]] = {
    "text": _text, "html": _html, "pdf": _pdf, "csv": _csv, "json": _json,
}
