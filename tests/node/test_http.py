"""One problem family for every face: each answers refusals in its own form, all with the same
security headers, including aiohttp's own 404 and 405 for paths and methods no route takes."""

from __future__ import annotations

from typing import AsyncIterator

import aiohttp
import pytest

from mirror.node.app import Node
from mirror.node.http import SECURITY_HEADERS
from tests.node.node_helpers import nodes  # noqa: F401  (fixture)
from tests.node.node_helpers import NodeFactory


@pytest.fixture
async def node(nodes: NodeFactory) -> Node:
    return await nodes.start("a")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _secured(headers: aiohttp.typedefs.LooseHeaders) -> bool:
    return all(headers.get(name) == value for name, value in SECURITY_HEADERS.items())  # type: ignore[union-attr]


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api/v1/feeds/not-a-node/entries"])
async def test_api_problems_are_json_with_the_security_headers(node: Node, http: aiohttp.ClientSession,
                                                                path: str) -> None:
    async with http.get(node.url + path) as resp:
        body = await resp.json()
        assert resp.status in (400, 404)
        assert set(body["error"]) == {"code", "message"}
        assert resp.headers["X-Openmirror-Protocol"]
        assert _secured(resp.headers)


async def test_a_path_nobody_serves_is_a_page_in_the_sites_style(node: Node,
                                                                 http: aiohttp.ClientSession) -> None:
    async with http.get(node.url + "/no/such/page") as resp:
        text = await resp.text()
        assert resp.status == 404 and resp.content_type == "text/html"
        host = node.url.removeprefix("http://")                 # no node.name: the host names the site
        assert f"<title>Page not found · {host}</title>" in text and "Page not found" in text
        assert _secured(resp.headers)


async def test_a_wrong_method_is_405_with_allow_and_the_security_headers(
        node: Node, http: aiohttp.ClientSession) -> None:
    async with http.delete(node.url + "/api/v1/status") as resp:
        assert resp.status == 405 and "GET" in resp.headers["Allow"]
        assert (await resp.json())["error"]["code"] == "method_not_allowed"
        assert _secured(resp.headers)
    async with http.put(node.url + "/") as resp:
        assert resp.status == 405 and resp.content_type == "text/html"
        assert _secured(resp.headers)


async def test_oai_answers_carry_the_security_headers(node: Node, http: aiohttp.ClientSession) -> None:
    async with http.get(node.url + "/oai?verb=Identify") as resp:
        assert resp.status == 200 and resp.content_type == "text/xml"
        assert _secured(resp.headers)


async def test_gateway_problems_stay_one_line_of_text_with_cors(node: Node,
                                                                http: aiohttp.ClientSession) -> None:
    async with http.get(node.url + "/ipfs/not-a-cid") as resp:
        assert resp.status == 400 and resp.content_type == "text/plain"
        assert (await resp.text()).count("\n") == 1
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
