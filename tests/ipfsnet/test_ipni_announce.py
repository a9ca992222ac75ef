"""HTTP announces of new heads to the indexers configured: the message, retries, coalescing."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import aiohttp
import pytest

from ipni_helpers import AnnounceRecorder
from mirror.errors import ConfigError
from mirror.feed.identity import Identity
from mirror.node.ipni.announce import Announcer, announce_url
from mirror.node.ipni.publisher import HeldDag, IpniPublisher
from mirror.node.routing.multiaddr import to_bytes, url_to_multiaddr
from mirror.node.routing.peerid import peer_id
from mirror.store.cid import CID, RAW
from tests.node.node_helpers import wait_for
from tests.servers.local_app import running

URL = "https://mirror.example.org"


def held(i: int) -> HeldDag:
    return HeldDag(f"c{i}", [CID.of(f"block {i}".encode(), RAW).multihash])


async def test_every_new_head_reaches_every_configured_indexer(tmp_path: Path) -> None:
    me = Identity.generate()
    me_peer = peer_id(me.public_key_bytes)
    async with running(AnnounceRecorder()) as one, running(AnnounceRecorder([503, 500])) as two, \
            aiohttp.ClientSession() as session:
        announcer = Announcer(session, [one.url, two.url + "/", one.url], me_peer,
                              [url_to_multiaddr(URL)], first_delay=0.05)
        publisher = IpniPublisher(tmp_path / "ipni", me, [URL], on_head=announcer.notify)
        (head,) = await publisher.publish(added=[held(1)])
        await wait_for(lambda: announcer.sent == {f"{one.url}/announce": head,
                                                  f"{two.url}/announce": head}, what="announces")
        assert len(one.bodies) == 1 and len(two.bodies) == 3       # two refusals, then accepted
        content_type, body = one.bodies[0]
        assert content_type == "application/json"
        message = json.loads(body)
        assert message == {"Cid": {"/": str(head)}, "ExtraData": None, "OrigPeer": "",
                           "Addrs": [base64.b64encode(to_bytes(
                               f"/dns/mirror.example.org/tcp/443/https/p2p/{me_peer}")).decode()]}
        (newer,) = await publisher.publish(added=[held(2)])
        await wait_for(lambda: set(announcer.sent.values()) == {newer}, what="second announce")
        await announcer.close()


async def test_an_indexer_that_never_accepts_is_given_up_after_the_attempts(tmp_path: Path) -> None:
    async with running(AnnounceRecorder([503] * 10)) as down, aiohttp.ClientSession() as session:
        announcer = Announcer(session, [down.url], peer_id(Identity.generate().public_key_bytes),
                              [url_to_multiaddr(URL)], attempts=3, first_delay=0.01)
        announcer.notify(CID.of(b"head", RAW))
        await wait_for(lambda: len(down.bodies) == 3, what="three attempts")
        announcer.notify(CID.of(b"head", RAW))     # the same head again: tried again, bounded
        await wait_for(lambda: len(down.bodies) == 6, what="three more attempts")
        await announcer.close()
        assert announcer.sent == {} and len(down.bodies) == 6


@pytest.mark.parametrize(("url", "endpoint"), [("https://cid.contact", "https://cid.contact/announce"),
                                               ("https://cid.contact/", "https://cid.contact/announce"),
                                               ("http://127.0.0.1:3001/ingest/announce",
                                                "http://127.0.0.1:3001/ingest/announce")])
def test_announce_endpoints(url: str, endpoint: str) -> None:
    assert announce_url(url) == endpoint


@pytest.mark.parametrize("url", ["cid.contact", "ftp://cid.contact", "https://u@cid.contact",
                                 "http://h:99999"])
def test_what_is_not_an_indexer_url_is_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        announce_url(url)
