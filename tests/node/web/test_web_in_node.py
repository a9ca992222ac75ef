"""The real volunteer node (``mirror.node.app.Node``) serves the web pages and the OAI-PMH
provider beside its API: ``build_app`` picks up ``mirror.node.web.routes``."""

from __future__ import annotations

from aiohttp import ClientSession
from lxml import etree, html

from mirror.home import Home
from mirror.node.app import Node

NS = "{http://www.openarchives.org/OAI/2.0/}"


async def test_a_started_node_serves_search_and_oai(tmp_path) -> None:
    node = Node(Home.open(tmp_path / "home"), listen="127.0.0.1:0", name="Volunteer")
    await node.start()
    try:
        async with ClientSession() as http:
            async with http.get(node.url + "/") as resp:
                page = html.fromstring(await resp.read())
                assert resp.status == 200 and "default-src 'self'" in resp.headers[
                    "Content-Security-Policy"]
            assert page.xpath("//title/text()") == ["Search · Volunteer"]
            assert "holds no documents yet" in page.text_content()
            async with http.get(node.url + "/oai?verb=Identify") as resp:
                root = etree.fromstring(await resp.read())
            assert root.find(f".//{NS}baseURL").text == node.url + "/oai"
            assert root.find(f".//{NS}repositoryName").text == "Volunteer"
            async with http.get(node.url + "/api/v1/status") as resp:
                assert resp.status == 200        # the API is still there
    finally:
        await node.stop()
