"""Parsing helpers shared by the sources: hostile XML, awkward HTML, URLs, dates."""

from __future__ import annotations

import pytest

from mirror.errors import FetchError
from mirror.fetch.results import Page
from mirror.sources.dates import older_than, parse_when
from mirror.sources.files import file_name, file_type, local_path, media_type_for_format
from mirror.sources.oai_dc import parse_record
from mirror.sources.pages import clean_url, read_page
from mirror.sources.xmlparse import parse_xml, text_of

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<lolz>&lol4;</lolz>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"""


def test_entities_are_never_expanded_or_fetched():
    assert len(text_of(parse_xml(LAUGHS, "u"))) < 100
    assert "root:" not in text_of(parse_xml(XXE, "u"))


def test_malformed_xml_is_a_fetch_error():
    with pytest.raises(FetchError, match="not well-formed"):
        parse_xml(b"<OAI-PMH><unclosed></OAI-PMH>", "http://r.example/oai")
    with pytest.raises(FetchError):
        parse_xml(b"", "u")


def test_an_oai_record_without_identifier_is_rejected():
    record = parse_xml(b'<record xmlns="http://www.openarchives.org/OAI/2.0/"><header>'
                       b"<datestamp>2020-01-01</datestamp></header></record>", "u")
    with pytest.raises(ValueError, match="identifier"):
        parse_record(record)


def page(body: bytes, ctype: str = "text/html", **headers: str) -> Page:
    return Page("http://h.example/a/b.html", "http://h.example/a/b.html", 200,
                {"Content-Type": ctype, **headers}, body, "2024-01-01T00:00:00Z")


def test_awkward_html_pages():
    assert read_page(page(b"")).title == ""
    info = read_page(page(b"<title>  Spaced\n  out </title><a href='x.pdf#p=2'>x</a><a href=' '>"
                          b"<a href='http://[bad'>bad</a><base href='/other/'><a href='y.csv'>y</a>"))
    assert info.title == "Spaced out"
    # relative to <base>, fragments dropped, an unparsable URL left out, an empty one is the base
    assert info.links == ["http://h.example/other/x.pdf", "http://h.example/other/", "http://h.example/other/y.csv"]
    latin = read_page(page("<title>Caf\u00e9</title>".encode("latin-1"), "text/html; charset=latin-1"))
    assert latin.title == "Caf\u00e9"


def test_alternates_are_files_only_in_document_formats():
    info = read_page(page(
        b"<link rel='alternate' type='application/rss+xml' href='/feed'>"
        b"<link rel='alternate' type='application/atom+xml' href='/atom'>"
        b"<link rel='alternate' type='application/json' href='/wp-json/wp/v2/posts/7'>"
        b"<link rel='alternate' type='application/json+oembed' href='/oembed?url=x'>"
        b"<link rel='alternate' type='application/x-wiki' title='Edit' href='/w/index.php?title=X&action=edit'>"
        b"<link rel='alternate' type='text/calendar' href='/event.ics'>"
        b"<link rel='alternate' type='application/rdf+xml' href='/record.rdf'>"
        b"<link rel='alternate' type='application/x-bibtex' href='/record.bib'>"
        b"<link rel='alternate' type='application/x-research-info-systems' href='/record.ris'>"
        b"<link rel='alternate' type='application/ld+json' href='/record.jsonld'>"
        b"<link rel='alternate' type='text/html' hreflang='fr' href='/fr'>"
        b"<link rel='alternate' type='application/pdf' href='/a.pdf'>"
        b"<link rel='alternate' type='application/epub+zip' href='/a.epub'>"
        b"<link rel='alternate' type='text/csv' href='/table.csv'>"))
    assert [(f.url, f.media_type) for f in info.declared_files] == [
        ("http://h.example/a.pdf", "application/pdf"), ("http://h.example/a.epub", "application/epub+zip"),
        ("http://h.example/table.csv", "text/csv")]


def test_signposting_items_are_the_item_s_files_whatever_their_type():
    headers = {"Link": '<https://h.example/bitstreams/9/download>; rel="item"; type="application/pdf", '
                       '<https://h.example/records/9/export/json>; rel="describedby"; type="application/json", '
                       '<https://doi.org/10.5555/9>; rel="cite-as"'}
    info = read_page(page(b"<link rel='item' href='/files/data.json' type='application/json'>", **headers))
    assert [(f.url, f.media_type) for f in info.declared_files] == [
        ("https://h.example/bitstreams/9/download", "application/pdf"),
        ("http://h.example/files/data.json", "application/json")]


def test_dspace_derived_and_licence_bitstreams_are_not_files():
    info = read_page(page(b"<a href='/bitstream/handle/1/2/paper.pdf?sequence=1'>paper</a>"
                          b"<a href='/bitstream/handle/1/2/paper.pdf.jpg?sequence=3'>thumbnail</a>"
                          b"<a href='/bitstream/handle/1/2/paper.pdf.txt?sequence=4'>text</a>"
                          b"<a href='/bitstream/handle/1/2/license.txt?sequence=2'>licence</a>"
                          b"<a href='/bitstream/handle/1/2/license_rdf?sequence=5'>cc</a>"
                          b"<a href='/bitstream/handle/1/2/data.v2.txt'>data</a>"))
    assert [f.url for f in info.repository_files] == ["http://h.example/bitstream/handle/1/2/paper.pdf?sequence=1",
                                                      "http://h.example/bitstream/handle/1/2/data.v2.txt"]


def test_declared_files_skip_feeds_and_pages():
    info = read_page(page(b"<link rel='alternate' type='application/rss+xml' href='/feed'>"
                          b"<link rel='alternate' type='text/html' hreflang='fr' href='/fr'>"
                          b"<link rel='alternate' type='application/pdf' href='/a.pdf'>"
                          b"<meta name='citation_pdf_url' content='/a.pdf'>"))
    assert [f.url for f in info.declared_files] == ["http://h.example/a.pdf"]


def test_urls_and_types():
    assert clean_url("mailto:a@b.c", "http://h/") is None and clean_url("#x", "http://h/p") == "http://h/p"
    assert file_type("https://h/Paper.PDF?download=1") == "application/pdf" and file_type("https://h/abs/1") is None
    assert file_name("https://h/a/b%20c.txt") == "b c.txt" and file_name("https://h/") is None
    assert media_type_for_format("CSV") == "text/csv" and media_type_for_format("text/csv; q=1") == "text/csv"
    assert local_path("https://h/x.jsonl") is None and str(local_path("file:///tmp/x%20y.csv")) == "/tmp/x y.csv"


def test_dates():
    assert parse_when("2024").isoformat() == "2024-01-01T00:00:00+00:00"
    assert parse_when("2024-01-02T10:00:00+02:00").isoformat() == "2024-01-02T08:00:00+00:00"
    assert parse_when("2015-03-04 05:06:07").isoformat() == "2015-03-04T05:06:07+00:00"
    assert parse_when("yesterday") is None
    assert older_than("2024-01-01", "2024-01-02T00:00:00Z") and not older_than(None, "2024-01-01")
