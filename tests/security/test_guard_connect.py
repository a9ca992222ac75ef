"""The address guard at connect time: DNS rebinding, IP literals, mixed answers, redirect hops.

A test resolver (aiohttp's resolver interface, standing in for DNS) answers a name with addresses
and ports of real servers on loopback: 127.0.0.1 is allowed as if it were public
(``allowed_networks``); the internal service on 127.0.0.2 must never get a request.
"""

from __future__ import annotations

import socket
from pathlib import Path

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from mirror.errors import AddressRefused
from mirror.fetch.client import make_session
from mirror.fetch.fetcher import Fetcher, Page
from mirror.fetch.guard import (
    AddressPolicy,
    GuardedConnector,
    harvest_policy,
    refusal_of,
)
from mirror.settings import Settings
from tests.servers.attacker import Attacker, InternalService


def settings() -> Settings:
    """No retries; 127.0.0.1 allowed as if it were public."""
    s = Settings(env={})
    s.set("fetch.retries", 0)
    s.set("fetch.allowed_networks", "127.0.0.1/32")
    return s


AS_PUBLIC = harvest_policy(settings())


class ScriptedDNS(AbstractResolver):
    """Answers every name with the next answer of the script (the last one forever after); each
    answer is a list of ``(address, port)``."""

    def __init__(self, *answers: list[tuple[str, int]]) -> None:
        self.answers = list(answers)
        self.queries: list[str] = []

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        answer = self.answers[min(len(self.queries), len(self.answers) - 1)]
        self.queries.append(host)
        return [ResolveResult(hostname=host, host=addr, port=p, family=socket.AF_INET, proto=0,
                              flags=socket.AI_NUMERICHOST) for addr, p in answer]

    async def close(self) -> None:
        pass


def port_of(server: Attacker | InternalService) -> int:
    return int(server.url.rsplit(":", 1)[1])


async def test_dns_rebinding_is_refused_at_connect_time(attacker: Attacker, internal_service: InternalService):
    dns = ScriptedDNS([("127.0.0.1", port_of(attacker))], [("127.0.0.2", port_of(internal_service))])
    async with make_session(settings(), 1, AS_PUBLIC, resolver=dns) as session:
        async with session.get("http://rebind.test/site/", headers={"Connection": "close"}) as resp:
            assert resp.status == 200 and b"Bait" in await resp.read()   # first answer: allowed
        assert isinstance(session.connector, GuardedConnector)
        session.connector.clear_dns_cache()          # the record's TTL ran out; the name now rebinds
        with pytest.raises(aiohttp.ClientConnectorError) as caught:
            await session.get("http://rebind.test/site/")
    refused = refusal_of(caught.value)
    assert refused is not None and refused.address == "127.0.0.2"
    assert str(refused) == "refused: rebind.test resolves to 127.0.0.2, a loopback address"
    assert "rebind.test resolves to 127.0.0.2" in str(caught.value)   # aiohttp's message names it
    assert internal_service.requests == []
    assert dns.queries == ["rebind.test", "rebind.test"]   # one lookup per connection: no separate check


async def test_refused_answers_are_dropped_and_the_allowed_one_used(attacker: Attacker,
                                                                   internal_service: InternalService):
    dns = ScriptedDNS([("127.0.0.2", port_of(internal_service)), ("127.0.0.1", port_of(attacker))])
    async with make_session(settings(), 1, AS_PUBLIC, resolver=dns) as session, \
            session.get("http://mixed.test/site/") as resp:
        assert resp.status == 200 and b"Bait" in await resp.read()
    assert internal_service.requests == []


async def test_ip_literals_are_checked_too(tmp_path: Path, internal_service: InternalService):
    # aiohttp asks no resolver for an IP literal; the guard still sees the address
    async with Fetcher(settings(), tmp_path, delay=0, policy=AS_PUBLIC) as fetcher:
        for url in (internal_service.url + "/secret.pdf", internal_service.url.replace("127.0.0.2", "[::ffff:127.0.0.2]")):
            with pytest.raises(AddressRefused, match=r"^refused: (127\.0\.0\.2|::ffff:7f00:2) is a loopback address$"):
                await fetcher.fetch_file(url)
        assert fetcher.stats.refused == 2 and fetcher.stats.retries == 0
    assert internal_service.requests == []


async def test_a_redirect_hop_is_checked_and_named(tmp_path: Path, attacker: Attacker,
                                                   internal_service: InternalService):
    attacker.targets = [internal_service.url + "/secret.pdf"]
    async with Fetcher(settings(), tmp_path, delay=0, policy=AS_PUBLIC) as fetcher:
        with pytest.raises(AddressRefused) as caught:
            await fetcher.get_page(attacker.url + "/to/0")
    assert str(caught.value) == ("refused: 127.0.0.2 is a loopback address "
                                 f"(redirected to {internal_service.url}/secret.pdf)")
    assert caught.value.hint and "--allow-private" in caught.value.hint
    assert internal_service.requests == [] and [s.path for s in attacker.requests] == ["/robots.txt", "/to/0"]


async def test_a_source_on_a_private_address_opens_the_policy(tmp_path: Path, internal_service: InternalService):
    async with Fetcher(settings(), tmp_path, delay=0, policy=AddressPolicy()) as fetcher:
        assert await fetcher.admit_source("/some/local/manifest.jsonl") is None
        assert await fetcher.admit_source("http://8.8.8.8/") is None and not fetcher.policy.allow_private
        assert await fetcher.admit_source(internal_service.url + "/oai") == "127.0.0.2 is a loopback address"
        assert fetcher.policy.allow_private
        page = await fetcher.get_page(internal_service.url + "/x")
    assert isinstance(page, Page) and [s.path for s in internal_service.requests][-1] == "/x"
