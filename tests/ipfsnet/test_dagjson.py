"""Canonical DAG-JSON as the IPLD spec, go-ipld-prime and @ipld/dag-json write it (the JS library
re-encodes every block of a real chain in ``test_ipfs_clients.py``)."""

from __future__ import annotations

import pytest

from mirror.node.ipni.dagjson import block_cid, encode
from mirror.store.cid import CID


def test_map_keys_are_sorted_by_their_bytes_not_by_length_first() -> None:
    assert encode({"b": 1, "aa": 2, "Z": 3, "IsRm": False, "Entries": []}) == \
        b'{"Entries":[],"IsRm":false,"Z":3,"aa":2,"b":1}'


def test_bytes_are_unpadded_base64_and_links_are_cid_strings() -> None:
    link = CID.decode("bafkreehdwdcefgh4dqkjv67uzcmw7oje")
    assert encode([b"\xa0\x12\x00", b"\xff", b"", link, True]) == \
        b'[{"/":{"bytes":"oBIA"}},{"/":{"bytes":"/w"}},{"/":{"bytes":""}},' \
        b'{"/":"bafkreehdwdcefgh4dqkjv67uzcmw7oje"},true]'


def test_a_block_is_named_by_a_dag_json_sha2_256_cid() -> None:
    cid = block_cid(b"{}")
    assert cid.codec == 0x0129 and str(cid).startswith("baguqeera") and cid.verify(b"{}")


@pytest.mark.parametrize("value", [{"k": "é"}, {"k": 'a"b'}, {"k": "a\\b"}, {"k": "line\n"},
                                   {1: "x"}, {"k": -1}, {"k": 1.5}, {"k": None}])
def test_what_could_be_written_two_ways_is_refused(value: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        encode(value)
