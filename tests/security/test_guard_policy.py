"""The address policy on its own: which addresses are refused, why, and what an operator may allow."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mirror.errors import ConfigError
from mirror.fetch.guard import (
    AddressPolicy,
    classify,
    listens_on_loopback,
    node_policy,
    parse_networks,
)
from mirror.settings import Settings

NON_GLOBAL = {
    "0.0.0.0": "unspecified", "0.1.2.3": "unspecified", "10.0.0.5": "private", "172.16.0.1": "private",
    "172.31.255.255": "private", "192.168.1.1": "private", "127.0.0.1": "loopback", "127.255.0.9": "loopback",
    "169.254.169.254": "link-local", "100.64.0.1": "carrier-grade NAT", "100.127.255.254": "carrier-grade NAT",
    "192.0.0.9": "reserved", "192.0.2.1": "documentation", "198.18.0.1": "benchmarking",
    "198.51.100.7": "documentation", "203.0.113.9": "documentation", "224.0.0.1": "multicast",
    "239.255.255.250": "multicast", "240.0.0.1": "reserved", "255.255.255.255": "broadcast",
    "::": "unspecified", "::1": "loopback", "fe80::1": "link-local", "fe80::1%eth0": "link-local",
    "fc00::1": "private", "fd12:3456::1": "private", "fec0::1": "private", "ff02::1": "multicast",
    "2001:db8::1": "documentation", "2001::1": "reserved", "100::1": "reserved", "::1.2.3.4": "reserved",
    "64:ff9b:1::a00:5": "private", "4000::1": "reserved",
    # IPv6 forms that carry an IPv4 address are judged by it
    "::ffff:127.0.0.1": "loopback", "::ffff:10.0.0.5": "private", "::ffff:169.254.169.254": "link-local",
    "64:ff9b::10.0.0.5": "private", "64:ff9b::127.0.0.1": "loopback", "2002:a00:5::1": "private",
    "2002:7f00:1::": "loopback", "not-an-ip": "not an IP address",
}
GLOBAL = ["8.8.8.8", "1.1.1.1", "100.63.255.255", "100.128.0.0", "172.32.0.1", "192.0.3.1", "223.255.255.255",
          "2606:4700:4700::1111", "2a00:1450:4001::1", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "2002:808:808::1"]


@pytest.mark.parametrize("address,kind", NON_GLOBAL.items())
def test_every_non_global_address_is_named(address: str, kind: str):
    assert classify(address) == kind
    assert AddressPolicy().refusal(address) is not None
    assert AddressPolicy(allow_private=True).refusal(address) is None


@pytest.mark.parametrize("address", GLOBAL)
def test_global_addresses_pass(address: str):
    assert classify(address) is None and AddressPolicy().refusal(address) is None


# Where Python's is_global (IANA's IPv4 registry, as each Python version read it) and we part:
# multicast (Python: global), 192.0.0.0/24 (varies by version; we refuse it all) and the deprecated
# 6to4 relay anycast 192.88.99.0/24 (Python: global; we refuse it).
DIFFERENT = [ipaddress.ip_network(n) for n in ("224.0.0.0/4", "192.0.0.0/24", "192.88.99.0/24")]


@given(st.ip_addresses(v=4))
def test_ipv4_agrees_with_pythons_reading_of_the_registry(ip: ipaddress.IPv4Address):
    if not any(ip in net for net in DIFFERENT):
        assert (classify(ip) is None) == ip.is_global, ip


@given(st.ip_addresses(v=4))
def test_a_mapped_address_is_judged_as_the_ipv4_address(ip: ipaddress.IPv4Address):
    mapped = ipaddress.IPv6Address(f"::ffff:{ip}")
    nat64 = ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(ip))
    assert classify(mapped) == classify(nat64) == classify(ip)


def test_refusals_say_what_and_why():
    policy = AddressPolicy()
    assert policy.refusal("10.0.0.5") == "10.0.0.5 is a private address"
    assert policy.refusal("169.254.169.254", "metadata.internal") == \
        "metadata.internal resolves to 169.254.169.254, a link-local address"
    assert policy.refusal("::1", "[::1]") == "::1 is a loopback address"
    assert policy.refusal("0.0.0.0") == "0.0.0.0 is an unspecified address"


def test_allowed_networks_open_only_themselves():
    policy = AddressPolicy(allowed_networks=parse_networks(["127.0.0.1/32", "10.20.0.0/16"]))
    assert policy.refusal("127.0.0.1") is None and policy.refusal("10.20.3.4") is None
    assert policy.refusal("::ffff:10.20.3.4") is None
    assert policy.refusal("127.0.0.2") and policy.refusal("10.21.0.1") and policy.refusal("::1")
    with pytest.raises(ConfigError, match="fetch.allowed_networks"):
        parse_networks(["10.0.0.0/33"])


def test_configured_hosts_are_trusted_whatever_they_resolve_to():
    policy = AddressPolicy().trusting("http://LAN-Peer.example.:8470/", "10.0.0.9", "http://[fd00::7]:1/")
    assert policy.refusal("10.0.0.5", "lan-peer.example") is None
    assert policy.refusal("10.0.0.9", "10.0.0.9") is None and policy.refusal("fd00::7", "fd00::7") is None
    assert policy.refusal("10.0.0.5", "learned.example") is not None     # other names are not
    assert policy.refusal("10.0.0.9") is not None                         # nor the address reached by name
    assert AddressPolicy().refusal("10.0.0.5", "lan-peer.example") is not None   # immutable


def test_literal_refusal_needs_no_dns():
    policy = AddressPolicy()
    assert policy.literal_refusal("http://10.0.0.5:8470/feed") == "10.0.0.5 is a private address"
    assert policy.literal_refusal("http://[::ffff:127.0.0.1]/") == "::ffff:127.0.0.1 is a loopback address"
    assert policy.literal_refusal("http://peer.example/") is None        # decided at connect time
    assert policy.literal_refusal("http://8.8.8.8/") is None


@pytest.mark.parametrize("listen,loopback", [
    ("127.0.0.1:8470", True), ("127.0.0.5:1", True), ("localhost:8470", True), ("[::1]:8470", True),
    ("::1", True), ("0.0.0.0:8470", False), ("[::]:8470", False), ("192.168.1.4:8470", False),
    ("node.example.org:8470", False)])
def test_listening_on_loopback(listen: str, loopback: bool):
    assert listens_on_loopback(listen) is loopback


def test_node_policy_follows_the_setting_and_trusts_configured_peers():
    def policy(**values: str) -> AddressPolicy:
        settings = Settings(env={})
        for key, value in values.items():
            settings.set(f"node.{key}", value)
        return node_policy(settings, trusted=["http://10.0.0.7:8470"])

    assert policy().allow_private                                         # auto, listening on 127.0.0.1
    assert not policy(listen="0.0.0.0:8470").allow_private               # auto, public
    assert policy(listen="0.0.0.0:8470", allow_private_addresses="true").allow_private
    assert not policy(allow_private_addresses="false").allow_private
    public = policy(listen="0.0.0.0:8470", peers="http://10.0.0.8:8470")
    assert public.refusal("10.0.0.7", "10.0.0.7") is None and public.refusal("10.0.0.8", "10.0.0.8") is None
    assert public.refusal("10.0.0.9", "10.0.0.9") == "10.0.0.9 is a private address"
    assert public.hint and "node.allow_private_addresses" in public.hint
    with pytest.raises(ConfigError):
        Settings(env={"OPENMIRROR_NODE_ALLOW_PRIVATE_ADDRESSES": "sometimes"})
