"""Every OAI-PMH error code of the provider, forged and garbled resumption tokens, and the wire
values (identifiers, setSpecs, datestamps, tokens) as properties."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from aiohttp import ClientSession
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from tests.node.web_node import http, start_site, stop_site  # noqa: F401  (fixture)

from mirror.feed.identity import Identity
from mirror.node.oai.codec import (BadDate, BadToken, ListState, TokenCodec, bounds,
                                   make_identifier, parse_identifier, set_collection, set_spec)

NS = "{http://www.openarchives.org/OAI/2.0/}"


@pytest.fixture
async def site(tmp_path: Path):
    server = await start_site(tmp_path / "home", oai_page_size=2)
    try:
        for i in range(5):
            await server.node.add(f"doc {i}".encode(), title=f"Doc {i}", source_id=f"d{i}")
        yield server
    finally:
        await stop_site(server)


async def oai(http: ClientSession, site, query: str | list[tuple[str, str]],
              method: str = "GET") -> etree._Element:
    url = site.url + "/oai"
    if method == "POST":
        request = http.post(url, data=query)
    else:
        request = http.get(url + ("?" + query if isinstance(query, str) else ""),
                           params=None if isinstance(query, str) else query)
    async with request as resp:
        assert resp.status == 200 and resp.content_type == "text/xml"
        return etree.fromstring(await resp.read())


def error_code(root: etree._Element) -> str | None:
    error = root.find(f"{NS}error")
    return None if error is None else error.get("code")


async def first_token(http, site, verb: str = "ListRecords") -> str:
    root = await oai(http, site, f"verb={verb}&metadataPrefix=oai_dc")
    return root.find(f".//{NS}resumptionToken").text


async def test_bad_verbs(site, http) -> None:
    for query in ("", "verb=", "verb=Explode", "verb=identify", "verb=Identify&verb=Identify",
                  "verb=ListRecords&verb=Identify"):
        root = await oai(http, site, query)
        assert error_code(root) == "badVerb", query
        request = root.find(f"{NS}request")
        assert request.attrib == {} and request.text == site.url + "/oai", query


BAD_ARGUMENTS = [
    "verb=ListRecords",                                         # metadataPrefix missing
    "verb=GetRecord&metadataPrefix=oai_dc",                     # identifier missing
    "verb=Identify&set=books",                                  # Identify takes nothing
    "verb=ListRecords&metadataPrefix=oai_dc&colour=red",        # unknown argument
    "verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=oai_dc",   # repeated
    "verb=ListRecords&metadataPrefix=oai_dc&resumptionToken=abc",     # token is exclusive
    "verb=ListRecords&metadataPrefix=oai_dc&from=2020-13-01",
    "verb=ListRecords&metadataPrefix=oai_dc&from=yesterday",
    "verb=ListRecords&metadataPrefix=oai_dc&from=2020-01-01T00:00:00",  # no Z
    "verb=ListRecords&metadataPrefix=oai_dc&from=2020-01-01T00:00:00.000Z",
    "verb=ListRecords&metadataPrefix=oai_dc&from=2020-01-01&until=2021-01-01T00:00:00Z",
    "verb=ListRecords&metadataPrefix=oai_dc&from=2021-01-02&until=2021-01-01",
    "verb=ListIdentifiers&metadataPrefix=oai_dc&from=0000-01-01",
    "verb=ListSets&identifier=x",
]


async def test_bad_arguments(site, http) -> None:
    for query in BAD_ARGUMENTS:
        root = await oai(http, site, query)
        assert error_code(root) == "badArgument", query
        assert root.find(f"{NS}request").attrib == {}, query


async def test_errors_about_formats_identifiers_and_matches(site, http) -> None:
    known = make_identifier("127.0.0.1", "books", "d1")
    cases = {
        "verb=ListRecords&metadataPrefix=marc21": "cannotDisseminateFormat",
        f"verb=GetRecord&metadataPrefix=mods&identifier={known}": "cannotDisseminateFormat",
        "verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:127.0.0.1:books:nope": "idDoesNotExist",
        "verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:elsewhere.org:books:d1": "idDoesNotExist",
        "verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:127.0.0.1:books%FF:d1": "idDoesNotExist",
        "verb=GetRecord&metadataPrefix=oai_dc&identifier=garbage": "idDoesNotExist",
        "verb=ListMetadataFormats&identifier=oai:127.0.0.1:x:y": "idDoesNotExist",
        "verb=ListRecords&metadataPrefix=oai_dc&set=nope": "noRecordsMatch",
        "verb=ListRecords&metadataPrefix=oai_dc&set=bad%20spec": "noRecordsMatch",
        "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2999-01-01": "noRecordsMatch",
        "verb=ListRecords&metadataPrefix=oai_dc&until=1999-01-01T00:00:00Z": "noRecordsMatch",
        "verb=ListSets&resumptionToken=anything": "badResumptionToken",
    }
    for query, code in cases.items():
        root = await oai(http, site, query)
        assert error_code(root) == code, query
        request = root.find(f"{NS}request")
        assert request.get("verb") == query.split("&")[0][5:], query   # arguments echoed
    root = await oai(http, site, f"verb=GetRecord&metadataPrefix=oai_dc&identifier={known}")
    assert error_code(root) is None and root.find(f".//{NS}identifier").text == known


async def test_forged_garbled_and_foreign_tokens_are_refused(site, http, tmp_path) -> None:
    token = await first_token(http, site)
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[-3] ^= 0x01                                      # change the position it encodes
    forged = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    other = TokenCodec.for_identity(Identity.generate()).encode(
        ListState("ListRecords", "oai_dc", None, None, "9999", "", 0, 0, 5))
    for bad in (forged, token[:-4], token + "A", "%%%", "x" * 5000, other, "AAAA"):
        root = await oai(http, site, [("verb", "ListRecords"), ("resumptionToken", bad)])
        assert error_code(root) == "badResumptionToken", bad[:30]
    root = await oai(http, site, [("verb", "ListIdentifiers"), ("resumptionToken", token)])
    assert error_code(root) == "badResumptionToken"               # a ListRecords token
    root = await oai(http, site, [("verb", "ListRecords"), ("resumptionToken", token)])
    assert error_code(root) is None
    assert len(root.findall(f".//{NS}record")) == 2


async def test_hostile_arguments_are_echoed_as_text(site, http) -> None:
    root = await oai(http, site, [("verb", "GetRecord"), ("metadataPrefix", "oai_dc"),
                                  ("identifier", "<x>\x00\x1f&\"'")])
    assert error_code(root) == "idDoesNotExist"
    assert root.find(f"{NS}request").get("identifier") == "<x>&\"'"


async def test_post_reports_errors_like_get(site, http) -> None:
    root = await oai(http, site, {"verb": "ListRecords"}, method="POST")
    assert error_code(root) == "badArgument"
    root = await oai(http, site, {"verb": "ListRecords", "metadataPrefix": "oai_dc"}, method="POST")
    assert len(root.findall(f".//{NS}record")) == 2


async def test_an_empty_node_identifies_itself(tmp_path, http) -> None:
    empty = await start_site(tmp_path / "empty")
    try:
        root = await oai(http, empty, "verb=Identify")
        assert error_code(root) is None
        assert root.find(f".//{NS}earliestDatestamp").text == root.find(f"{NS}responseDate").text
        assert root.find(f".//{NS}adminEmail").text == "unknown@invalid"
        assert root.find(f".//{NS}repositoryName").text.startswith("openmirror node om")
    finally:
        await stop_site(empty)


# -- the wire values --------------------------------------------------------------------------

@given(st.text(min_size=1), st.text(min_size=1))
def test_identifiers_round_trip(collection: str, source_id: str) -> None:
    made = make_identifier("node.example.org", collection, source_id)
    assert parse_identifier("node.example.org", made) == (collection, source_id)
    assert parse_identifier("other.example.org", made) is None


@given(st.text(min_size=1))
def test_set_specs_round_trip_and_use_only_the_set_alphabet(name: str) -> None:
    spec = set_spec(name)
    assert set(spec) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!*'()~")
    assert set_collection(spec) == name


@pytest.mark.parametrize("spec", ["a b", "~", "~4", "~ZZ", "~61", "~C3", "a:b"])
def test_set_specs_we_never_make_name_no_collection(spec: str) -> None:
    assert set_collection(spec) is None


def test_bounds_are_half_open_at_the_given_granularity() -> None:
    assert bounds("2024-02-28", "2024-02-29") == ("2024-02-28T00:00:00.000Z",
                                                  "2024-03-01T00:00:00.000Z")
    assert bounds("2024-01-01T10:00:00Z", None) == ("2024-01-01T10:00:00.000Z", None)
    assert bounds(None, "2024-01-01T10:00:59Z") == (None, "2024-01-01T10:01:00.000Z")
    assert bounds(None, "9999-12-31") == (None, None)
    for since, until in (("2024-01-02", "2024-01-01"), ("2024-01-01", "2024-01-01T00:00:00Z"),
                         ("2024-02-30", None), (None, "24-01-01")):
        with pytest.raises(BadDate):
            bounds(since, until)


@given(st.text(max_size=200))
def test_no_text_decodes_as_a_token(text: str) -> None:
    codec = TokenCodec(b"k" * 32)
    with pytest.raises(BadToken):
        codec.decode(text)


def test_a_token_carries_its_state() -> None:
    codec = TokenCodec(b"k" * 32)
    state = ListState("ListIdentifiers", "oai_dc", "maps & charts", "2024-01-01T00:00:00.000Z",
                      "2025-01-01T00:00:00.000Z", "2024-06-01T00:00:00.123Z", 42, 100, 250)
    token = codec.encode(state)
    assert codec.decode(token) == state
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    with pytest.raises(BadToken):
        TokenCodec(b"j" * 32).decode(token)
