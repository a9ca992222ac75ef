"""Documents of every kind text extraction reads, made to a size (for the origin and tests).

``make_pdf(pages)`` writes a minimal valid PDF by hand; ``document(kind, size)`` gives the bytes
and media type of a document of about SIZE bytes (at least SIZE): ``text`` (UTF-8, lines of
two-byte letters laid out so that a cut after 800,000 bytes, where extraction stops reading, falls
inside a letter), ``html``, ``csv`` and ``bin`` (both served as
``application/octet-stream``: a CSV is typed by its name), ``json``, ``pdf``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Iterator

MEDIA_TYPES = {"text": "text/plain; charset=utf-8", "html": "text/html", "csv": "application/octet-stream",
               "json": "application/json", "pdf": "application/pdf", "bin": "application/octet-stream"}


def make_pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF with one line of Helvetica text per page, written by hand."""
    count = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(count))
    objects = {1: "<< /Type /Catalog /Pages 2 0 R >>",
               2: f"<< /Type /Pages /Kids [{kids}] /Count {count} >>",
               3: "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"}
    for i, text in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET"
        objects[4 + 2 * i] = ("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                              f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>")
        objects[5 + 2 * i] = f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream"
    out = b"%PDF-1.4\n"
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += f"{number} 0 obj\n{objects[number]}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offsets[n]:010d} 00000 n \n" for n in sorted(objects)).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def document(kind: str, size: int) -> tuple[bytes, str]:
    """(body, media type) of a KIND document of at least SIZE bytes (see the module docstring)."""
    if kind == "text":
        body = b"abc" + _fill(("\u00e9" * 39 + " \n" for _ in range(10**9)), size)     # 80-byte lines
    elif kind == "html":
        body = b"<html><head><title>Big page</title></head><body>" + \
            _fill((f"<p>paragraph {i} about café glaciers</p>\n" for i in range(10**9)), size) + b"</body></html>"
    elif kind == "csv":
        body = b"station,year,value\n" + _fill((f"st{i % 97},{1900 + i % 120},{i}\n" for i in range(10**9)), size)
    elif kind == "json":
        body = json.dumps([{"title": f"record {i}", "note": "café"} for i in range(size // 30 + 1)]).encode()
    elif kind == "pdf":
        body = make_pdf(["mass balance " * (size // 13 + 1), "the second page"])
    else:
        body = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(size // 32 + 1))[:size]
    return body, MEDIA_TYPES[kind]


def _fill(lines: Iterator[str], size: int) -> bytes:
    parts, got = [], 0
    for line in lines:
        if got >= size:
            break
        data = line.encode()
        parts.append(data)
        got += len(data)
    return b"".join(parts)
