"""Text extraction: one test per type, plus the failures that must give None, never raise."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mirror.extract import extract_text, is_light
from tests.servers.documents import make_pdf


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_plain_text_in_utf8_and_a_bounded_length(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", "Grüße aus Köln\n\n  many   spaces\x00here\n")
    assert extract_text(path, "text/plain") == "Grüße aus Köln\nmany spaces here"
    assert extract_text(path, "text/plain", max_chars=5) == "Grüße"


@pytest.mark.parametrize("data, media_type, expected", [
    ("café".encode("cp1252"), "text/plain", "café"),                      # not UTF-8: a guess
    ("café".encode("latin-1"), "text/plain; charset=ISO-8859-1", "café"),  # declared
    (b"\xef\xbb\xbfbom text", "text/plain", "bom text"),
    ("utf16 text".encode("utf-16"), "text/plain", "utf16 text"),
    ("€uro".encode() + "€".encode()[:2], "text/markdown", "â‚¬uroâ‚"),   # broken: not UTF-8
])
def test_charsets_are_guessed(tmp_path: Path, data: bytes, media_type: str, expected: str) -> None:
    assert extract_text(write(tmp_path, "t", data), media_type) == expected


def test_a_head_cut_inside_a_character_stays_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, "euro.txt", "€" * 10)     # 30 bytes; 3 characters read 12 bytes
    assert extract_text(path, "text/plain", max_chars=3) == "€€€"
    assert extract_text(path, "text/plain", max_chars=2) == "€€"   # 8 bytes: 2 and a bit


def test_html_gives_the_visible_text_only(tmp_path: Path) -> None:
    page = """<!doctype html><html><head><title>Report</title><style>p {color: red}</style>
        <script>var hidden = "secret";</script></head>
        <body><h1>Rivers &amp; lakes</h1><!-- a comment --><p>Water <b>quality</b> data</p>
        <noscript>enable js</noscript></body></html>"""
    text = extract_text(write(tmp_path, "a.html", page), "text/html; charset=utf-8")
    assert text is not None
    assert "Rivers & lakes" in text and "Water quality data" in text and "Report" in text
    assert "secret" not in text and "color" not in text and "comment" not in text
    assert "enable js" not in text


def test_html_honours_a_meta_charset(tmp_path: Path) -> None:
    page = '<html><head><meta charset="windows-1252"></head><body>na\xefve</body></html>'
    text = extract_text(write(tmp_path, "a.htm", page.encode("cp1252")), "text/html")
    assert text == "naïve"


def test_xml_gives_its_text_without_markup(tmp_path: Path) -> None:
    record = '<?xml version="1.0" encoding="UTF-8"?><record><title>Lakes</title><p>Bodensee</p></record>'
    assert extract_text(write(tmp_path, "r.xml", record), "application/xml") == "Lakes\nBodensee"
    assert extract_text(write(tmp_path, "r.rss", record), "application/rss+xml") == "Lakes\nBodensee"


def test_pdf_text_layer_page_by_page(tmp_path: Path) -> None:
    path = write(tmp_path, "a.pdf", make_pdf(["Glacier mass balance", "Second page here"]))
    text = extract_text(path, "application/pdf")
    assert text is not None and "Glacier mass balance" in text and "Second page here" in text
    assert extract_text(path, None) == text                          # known by its name
    assert extract_text(path.rename(tmp_path / "blob"), "application/octet-stream") == text


def test_pdf_extraction_stops_at_the_time_limit(tmp_path: Path) -> None:
    path = write(tmp_path, "a.pdf", make_pdf(["never read"]))
    assert extract_text(path, "application/pdf", timeout=0) is None


def test_csv_head_is_the_first_rows(tmp_path: Path) -> None:
    rows = ["station,river,level"] + [f"s{i},Rhine{i},{i}" for i in range(500)]
    text = extract_text(write(tmp_path, "a.csv", "\n".join(rows)), "text/csv")
    assert text is not None
    lines = text.splitlines()
    assert lines[0] == "station river level" and len(lines) == 100
    assert "Rhine98" in text and "Rhine99" not in text
    tsv = extract_text(write(tmp_path, "b.tsv", "a\tb\nc d\te\n"), "text/tab-separated-values")
    assert tsv == "a b\nc d e"


def test_json_head_gives_keys_once_and_string_values(tmp_path: Path) -> None:
    data = {"title": "Air quality", "records": [{"city": "Lyon", "pm10": 12},
                                               {"city": "Nantes \u00e9t\u00e9", "pm10": 9}]}
    text = extract_text(write(tmp_path, "a.json", json.dumps(data)), "application/json")
    assert text is not None
    assert text.splitlines()[0] == "title records city pm10"
    assert "Air quality" in text and "Nantes été" in text and "12" not in text


def test_a_huge_json_file_is_read_by_its_head(tmp_path: Path) -> None:
    big = json.dumps([{"name": f"item {i}"} for i in range(100_000)])   # ~2 MB, cut at 100 KB
    text = extract_text(write(tmp_path, "big.json", big), "application/json")
    assert text is not None and "item 0" in text and "item 99999" not in text


@pytest.mark.parametrize("name, data, media_type", [
    ("a.pdf", os.urandom(4096), "application/pdf"),
    ("b.pdf", b"%PDF-1.4\n" + b"garbage" * 100, "application/pdf"),
    ("c.html", b"", "text/html"),
    ("d.png", b"\x89PNG\r\n\x1a\n" + os.urandom(100), "image/png"),
    ("e.bin", os.urandom(100), "application/octet-stream"),
    ("f.txt", b"   \n\t ", "text/plain"),
    ("g.json", b"[1, 2, 3]", "application/json"),
])
def test_what_cannot_be_parsed_gives_none(tmp_path: Path, name: str, data: bytes,
                                          media_type: str) -> None:
    assert extract_text(write(tmp_path, name, data), media_type) is None


def test_a_missing_file_gives_none(tmp_path: Path) -> None:
    assert extract_text(tmp_path / "gone.txt", "text/plain") is None


@pytest.mark.parametrize("name, data, media_type", [
    ("a.txt", "Grüße aus Köln\n\n  many   spaces\n".encode(), "text/plain"),
    ("a.html", b"<html><body><h1>Lakes</h1><script>x()</script><p>Bodensee</p></body></html>",
     "text/html"),
    ("a.pdf", make_pdf(["Glacier mass balance"]), "application/pdf"),
    ("a.csv", b"station,river\ns1,Rhine\n", "text/csv"),
    ("b.tsv", b"a\tb\nc d\te\n", None),                                 # typed by its name
    ("a.json", json.dumps({"title": "Air quality"}).encode(), "application/json"),
    ("blob", make_pdf(["Sniffed by its first bytes"]), "application/octet-stream"),
    ("c.txt", ("x" * 10 + "€").encode(), "text/plain"),                 # cut inside a character
])
def test_bytes_in_memory_give_the_text_of_the_same_file(tmp_path: Path, name: str, data: bytes,
                                                        media_type: str | None) -> None:
    from_file = extract_text(write(tmp_path, name, data), media_type, max_chars=10)
    assert from_file                                    # every case has text to find
    assert extract_text(data, media_type, name=name, max_chars=10) == from_file
    assert extract_text(bytearray(data), media_type, name=name, max_chars=10) == from_file


def test_bytes_without_a_name_are_typed_by_media_type_or_sniffing() -> None:
    assert extract_text(b"a\tb\n", "application/octet-stream") is None     # no name: not a TSV
    assert extract_text(b"<!doctype html><p>Hi", "application/octet-stream") == "Hi"
    assert extract_text(b"plain words", "text/plain") == "plain words"


def test_only_html_and_pdf_need_a_parser() -> None:
    assert is_light(b"words", "text/plain") and is_light(b"{}", "application/json")
    assert is_light(b"a,b", "text/csv") and is_light(b"\x00\x01", "application/octet-stream")
    assert not is_light(b"<p>x", "text/html") and not is_light(b"%PDF-1.4", "application/pdf")
    assert not is_light(b"<!doctype html><p>x", "application/octet-stream")      # sniffed
    assert not is_light(b"x", None, name="paper.pdf")                              # named
