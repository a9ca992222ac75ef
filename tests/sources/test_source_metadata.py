"""Metadata as repositories and pages write it: richer OAI-PMH formats chosen when offered
(oai_openaire as DSpace 7 writes it, oai_datacite as Zenodo does), creators from every standard form,
escaped markup reduced to text, dates from whatever the source has."""

from __future__ import annotations

import pytest

from mirror.fetch.results import Page
from mirror.sources import SourceOptions
from mirror.sources.oai_dc import parse_record
from mirror.sources.oai_pmh import OAIPMHSource
from mirror.sources.pages import read_page
from mirror.sources.text import plain_text
from mirror.sources.xmlparse import parse_xml
from tests.sources.harvest import harvest


def ids(records) -> dict[int, object]:
    return {int(r.source_id.rsplit(":", 1)[1]): r for r in records}


async def test_oai_openaire_is_chosen_when_offered_and_read(oai_server, fetcher):
    oai_server.formats = ["oai_dc", "oai_qdc", "oai_datacite", "oai_openaire"]
    src = OAIPMHSource(oai_server.url, SourceOptions())
    recs = ids((await harvest(src, fetcher)).records)
    assert src.prefix == "oai_openaire"
    assert {q["metadataPrefix"] for q in oai_server.requests_for("ListRecords") if "metadataPrefix" in q} == \
        {"oai_openaire"}
    dspace = recs[1]
    assert dspace.metadata.creators == ("Author 1 (https://orcid.org/0000-0002-1825-0001)", "Coauthor, A.")
    assert (dspace.metadata.type, dspace.metadata.date) == ("journal article", "2020-01-02")
    # the licence and the file come with the record: no landing page is read
    assert list(dspace.license_statements) == ["http://purl.org/coar/access_right/c_abf2", "open access",
                                               "https://creativecommons.org/licenses/by-sa/4.0/",
                                               "Creative Commons licence"]
    assert [f.url for f in dspace.files] == [oai_server.root + "/bitstream/handle/123/1/paper.pdf"]
    assert not [r for r in oai_server.requests if r.path.startswith("/handle/")]
    assert "oaire:licenseCondition" in dspace.metadata.raw_record


async def test_oai_datacite_is_chosen_over_oai_dc_and_its_abstract_is_text(oai_server, fetcher):
    oai_server.formats = ["oai_dc", "oai_datacite"]
    src = OAIPMHSource(oai_server.url, SourceOptions())
    recs = ids((await harvest(src, fetcher)).records)
    assert src.prefix == "oai_datacite"
    first = recs[0]
    assert first.metadata.description == "Abstract of record 0."      # sent as &lt;p&gt;...&lt;/p&gt;
    assert first.metadata.creators[0] == "Author 0 (https://orcid.org/0000-0002-1825-0000)"
    assert (first.metadata.type, first.metadata.date) == ("Journal article", "2020-01-01")
    assert "https://creativecommons.org/licenses/by/4.0/".replace("https", "http") in first.license_statements
    assert [f.url for f in first.files] == [oai_server.root + "/files/rec-0.pdf"]


async def test_a_named_format_is_kept(oai_server, fetcher):
    oai_server.formats = ["oai_dc", "oai_openaire"]
    src = OAIPMHSource(oai_server.url, SourceOptions(metadata_prefix="oai_dc"))
    await harvest(src, fetcher, stop_after_checkpoints=1)
    assert src.prefix == "oai_dc"


async def test_a_list_in_progress_keeps_its_format(oai_server, fetcher):
    first = await harvest(OAIPMHSource(oai_server.url, SourceOptions()), fetcher, stop_after_checkpoints=1)
    assert first.checkpoints[-1]["prefix"] == "oai_dc"
    oai_server.formats.append("oai_openaire")
    oai_server.expire_tokens()
    rest = await harvest(OAIPMHSource(oai_server.url, SourceOptions()), fetcher, first.checkpoints[-1])
    restarted = [q for q in oai_server.requests_for("ListRecords") if "metadataPrefix" in q][-1]
    assert restarted["metadataPrefix"] == "oai_dc" and rest.final.keys() == {"from"}


OAI = "http://www.openarchives.org/OAI/2.0/"


def oai_record(metadata: str, datestamp: str = "2021-06-07T08:09:10Z") -> bytes:
    return (f'<record xmlns="{OAI}"><header><identifier>oai:x:1</identifier><datestamp>{datestamp}</datestamp>'
            f'</header><metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
            f'xmlns:dc="http://purl.org/dc/elements/1.1/">{metadata}</oai_dc:dc></metadata></record>').encode()


@pytest.mark.parametrize(("metadata", "field", "expected"), [
    ("<dc:contributor>Editor, E.</dc:contributor>", "creators", ("Editor, E.",)),
    ("<dc:creator>Writer, W.</dc:creator><dc:contributor>Editor, E.</dc:contributor>", "creators", ("Writer, W.",)),
    ("<dc:description>&lt;p&gt;An &lt;i&gt;escaped&lt;/i&gt; abstract.&lt;/p&gt;</dc:description>",
     "description", "An escaped abstract."),
    ("<dc:description>&amp;lt;p&amp;gt;Twice &amp;amp; escaped.&amp;lt;/p&amp;gt;</dc:description>",
     "description", "Twice & escaped."),
    ("<dc:title>Effect of &lt;i&gt;E. coli&lt;/i&gt; on things</dc:title>", "title", "Effect of E. coli on things"),
    ("<dc:date>2016-03-29T14:52:09Z</dc:date><dc:date>2015</dc:date>", "date", "2015"),
    ("<dc:title>No date</dc:title>", "date", "2021-06-07"),
])
def test_oai_dc_as_repositories_write_it(metadata: str, field: str, expected: object) -> None:
    record = parse_record(parse_xml(oai_record(metadata), "u")).record
    assert getattr(record.metadata, field) == expected


def page(head: str) -> Page:
    body = f"<html><head><title>T</title>{head}</head><body></body></html>".encode()
    return Page("https://h.example/a", "https://h.example/a", 200, {"Content-Type": "text/html"}, body, "now")


@pytest.mark.parametrize(("head", "creators"), [
    ("<meta name='citation_author' content='Smith, Ann'><meta name='DC.creator' content='Lee, Bo'>",
     ["Smith, Ann", "Lee, Bo"]),
    ("<meta name='DC.contributor' content='Editor, E.'>", ["Editor, E."]),
    ("<meta name='DC.creator' content='Lee, Bo'><meta name='DC.contributor' content='Editor, E.'>", ["Lee, Bo"]),
    ('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "ScholarlyArticle", '
     '"author": [{"@type": "Person", "name": "Ann Smith"}, {"@type": "Person", "givenName": "Bo", '
     '"familyName": "Lee"}, "Org Team"], "image": {"@type": "ImageObject", "author": "Photographer"}}</script>',
     ["Ann Smith", "Lee, Bo", "Org Team"]),
    ('<script type="application/ld+json">{"@graph": [{"@type": "ImageObject", "author": "Photographer"}, '
     '{"@type": "BlogPosting", "author": {"@type": "Person", "name": "Blogger"}}]}</script>'
     "<meta name='DC.contributor' content='Editor, E.'>", ["Blogger"]),
])
def test_page_creators_in_every_standard_form(head: str, creators: list[str]) -> None:
    assert read_page(page(head)).creators == creators


def test_page_descriptions_lose_escaped_markup() -> None:
    info = read_page(page("<meta name='description' content='&amp;lt;b&amp;gt;Bold&amp;lt;/b&amp;gt; claim'>"))
    assert info.description == "Bold claim"


@pytest.mark.parametrize(("text", "expected"), [
    ("Plain text\nwith lines", "Plain text\nwith lines"),
    ("<p>One</p><p>Two <b>bold</b></p>", "One\nTwo bold"),
    ("&lt;p&gt;Escaped&lt;/p&gt;", "Escaped"),
    ("&amp;lt;p&amp;gt;Double&amp;lt;/p&amp;gt;", "Double"),
    ("R&amp;D", "R&D"),
    ("a < b and c > d", "a < b and c > d"),
    ("<script>alert(1)</script>Safe", "Safe"),
])
def test_plain_text(text: str, expected: str) -> None:
    assert plain_text(text) == expected
