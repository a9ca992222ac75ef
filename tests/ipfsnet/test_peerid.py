"""The node key's libp2p names (spec vectors in ``vectors/libp2p-peer-ids.json``) and its provider
multiaddrs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from mirror.errors import ConfigError, UsageError
from mirror.feed.identity import Identity, encode_node_id
from mirror.node.routing.multiaddr import (
    protocol_names,
    to_bytes,
    url_to_multiaddr,
    with_peer,
)
from mirror.node.routing.peerid import (
    ed25519_key,
    node_peer_id,
    parse_peer_id,
    peer_id,
    peer_id_cid,
    peer_id_multihash,
    public_key_proto,
)
from mirror.store.cid import b58decode

VECTORS = json.loads((Path(__file__).parent / "vectors" / "libp2p-peer-ids.json").read_text())


def _spec_key() -> bytes:
    private = bytes.fromhex(VECTORS["ed25519_private_key_protobuf"])
    assert private[:4] == bytes.fromhex("08011240")       # {Type: Ed25519, Data: seed || public}
    seed, public = private[4:36], private[36:]
    derived = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    assert derived == public
    return public


def test_the_spec_key_gives_the_spec_public_key_protobuf_and_its_peer_id() -> None:
    key = _spec_key()
    assert public_key_proto(key).hex() == VECTORS["ed25519_public_key_protobuf"]
    assert peer_id(key) == VECTORS["ed25519_peer_id"]
    assert peer_id_cid(key) == VECTORS["ed25519_peer_id_cid"]
    assert peer_id(key).startswith("12D3KooW") and len(peer_id(key)) == 52


def test_both_text_forms_of_a_peer_id_parse_to_one_multihash() -> None:
    key = _spec_key()
    assert parse_peer_id(peer_id(key)) == parse_peer_id(peer_id_cid(key)) == peer_id_multihash(key)
    examples = VECTORS["spec_examples"]
    assert parse_peer_id(examples["sha256_base58"]) == parse_peer_id(examples["sha256_cid"])
    assert ed25519_key(parse_peer_id(examples["ed25519_identity"])) is not None
    assert ed25519_key(parse_peer_id(examples["sha256_base58"])) is None


@pytest.mark.parametrize("text", ["", "1", "Qm" + "1" * 44, "bafkqaaa", "x" * 129, "12D3KooW!",
                                  "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"])
def test_what_is_not_a_peer_id_is_refused(text: str) -> None:
    with pytest.raises(UsageError):
        parse_peer_id(text)


@given(st.binary(min_size=32, max_size=32))
def test_a_node_id_and_its_peer_id_name_the_same_key(seed: bytes) -> None:
    key = Identity(Ed25519PrivateKey.from_private_bytes(seed)).public_key_bytes
    assert node_peer_id(encode_node_id(key)) == peer_id(key)
    assert ed25519_key(b58decode(peer_id(key))) == key


@pytest.mark.parametrize(("url", "multiaddr"), [
    ("https://mirror.example.org", "/dns/mirror.example.org/tcp/443/https"),
    ("https://mirror.example.org:8443/", "/dns/mirror.example.org/tcp/8443/https"),
    ("http://1.2.3.4:8470", "/ip4/1.2.3.4/tcp/8470/http"),
    ("http://127.0.0.1", "/ip4/127.0.0.1/tcp/80/http"),
    ("http://[2001:DB8:0::1]:8080", "/ip6/2001:db8::1/tcp/8080/http"),
    ("https://Bücher.example/", "/dns/xn--bcher-kva.example/tcp/443/https"),
    ("https://h.example/om/node", "/dns/h.example/tcp/443/https/http-path/om%2Fnode"),
])
def test_a_public_url_becomes_its_provider_multiaddr(url: str, multiaddr: str) -> None:
    assert url_to_multiaddr(url) == multiaddr


@pytest.mark.parametrize("url", ["ftp://h.example", "https://", "https://u:p@h.example",
                                 "https://h.example/?q=1", "https://h.example/#f", "http://h_x.example",
                                 "http://h.example:99999", "https://" + "a" * 2100])
def test_urls_that_name_no_http_provider_are_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        url_to_multiaddr(url)


def test_binary_multiaddrs_follow_the_multiaddr_table() -> None:
    assert to_bytes("/ip4/1.2.3.4/tcp/8470/http").hex() == "04" "01020304" "06" "2116" "e003"
    assert to_bytes("/dns/a.example/tcp/443/https").hex() == "35" "09" + b"a.example".hex() + "06" "01bb" "bb03"
    assert to_bytes("/ip6/::1/tcp/80/http").hex() == "29" + "00" * 15 + "01" "06" "0050" "e003"
    key = _spec_key()
    addr = with_peer("/dns/a.example/tcp/443/https", peer_id_cid(key))
    assert addr.endswith("/p2p/" + peer_id(key))
    assert to_bytes(addr).endswith(bytes.fromhex("a503") + bytes([38]) + peer_id_multihash(key))
    assert protocol_names(addr) == ["dns", "tcp", "https", "p2p"]
