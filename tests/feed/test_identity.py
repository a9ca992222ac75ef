"""The node identity: key file creation and protection, node ids, signatures."""

from __future__ import annotations

import os
import pickle
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mirror.errors import ConfigError, UsageError
from mirror.feed.identity import Identity, encode_node_id, is_node_id, is_strong_key, parse_node_id, public_key

REPO = Path(__file__).resolve().parents[2]


def test_key_is_created_private_and_reloaded(tmp_path: Path) -> None:
    key_file = tmp_path / "home" / "node.key"
    old = os.umask(0)
    try:
        first = Identity.load_or_create(key_file)
    finally:
        os.umask(old)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert Identity.load_or_create(key_file).node_id == first.node_id
    assert [p.name for p in key_file.parent.iterdir()] == ["node.key"]  # no temporary left behind


def test_private_key_never_shown(tmp_path: Path) -> None:
    key_file = tmp_path / "node.key"
    me = Identity.load_or_create(key_file)
    pem = key_file.read_bytes()
    raw = serialization.load_pem_private_key(pem, None).private_bytes_raw()
    body = b"".join(pem.splitlines()[1:-1]).decode()
    for text in (repr(me), str(me)):
        assert me.node_id in text
        assert body[:20] not in text and raw.hex()[:16] not in text
    with pytest.raises(TypeError):
        pickle.dumps(me)


def test_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "node.key"
    Identity.load_or_create(key_file)
    key_file.chmod(0o640)
    with pytest.raises(ConfigError) as info:
        Identity.load_or_create(key_file)
    assert "readable by others" in str(info.value) and "chmod 600" in (info.value.hint or "")
    key_file.chmod(0o600)
    assert is_node_id(Identity.load_or_create(key_file).node_id)


@pytest.mark.parametrize("content", [b"", b"not a key at all", b"-----BEGIN PRIVATE KEY-----\nAAAA\n"])
def test_corrupt_key_file_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    key_file = tmp_path / "node.key"
    key_file.write_bytes(content)
    key_file.chmod(0o600)
    with pytest.raises(ConfigError) as info:
        Identity.load_or_create(key_file)
    assert "not a readable private key" in str(info.value)
    assert key_file.read_bytes() == content  # never overwritten


def test_other_key_types_are_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "node.key"
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    key_file.write_bytes(pem)
    key_file.chmod(0o600)
    with pytest.raises(ConfigError, match="not an Ed25519 key"):
        Identity.load_or_create(key_file)


def test_concurrent_first_use_agrees_on_one_key(tmp_path: Path) -> None:
    key_file = tmp_path / "node.key"
    code = ("import sys; from pathlib import Path; from mirror.feed.identity import Identity; "
            "print(Identity.load_or_create(Path(sys.argv[1])).node_id)")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(key_file)], cwd=REPO,
                              stdout=subprocess.PIPE, text=True) for _ in range(4)]
    ids = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert ids == {Identity.load_or_create(key_file).node_id}


def test_node_id_form() -> None:
    me = Identity.generate()
    assert len(me.node_id) == 54 and me.node_id.startswith("om")
    assert set(me.node_id[2:]) <= set("abcdefghijklmnopqrstuvwxyz234567")
    assert parse_node_id(me.node_id) == me.public_key_bytes
    assert encode_node_id(me.public_key_bytes) == me.node_id


def test_node_id_has_one_text_form() -> None:
    me = Identity.generate()
    last = me.node_id[-1]
    # the last character carries one key bit and four zero bits: only 'a' or 'q' are canonical
    other = next(c for c in "bcdefghijklmnoprs" if c != last)
    assert not is_node_id(me.node_id[:-1] + other)
    assert not is_node_id(me.node_id.upper())


@pytest.mark.parametrize("bad", ["", "om", "om" + "a" * 51, "om" + "a" * 53, "xx" + "a" * 52,
                                 "om" + "1" * 52, "om" + "a" * 51 + "\n", None, 7, b"om"])
def test_malformed_node_ids(bad: object) -> None:
    assert not is_node_id(bad)
    assert not Identity.verify(bad, b"data", bytes(64))  # type: ignore[arg-type]
    if isinstance(bad, str):
        with pytest.raises(UsageError, match="not a node id"):
            parse_node_id(bad)


def test_sign_and_verify() -> None:
    me, other = Identity.generate(), Identity.generate()
    sig = me.sign(b"hello")
    assert len(sig) == 64
    assert Identity.verify(me.node_id, b"hello", sig)
    assert not Identity.verify(me.node_id, b"hellO", sig)
    assert not Identity.verify(other.node_id, b"hello", sig)
    flipped = bytes([sig[0] ^ 1]) + sig[1:]
    assert not Identity.verify(me.node_id, b"hello", flipped)
    assert not Identity.verify(me.node_id, b"hello", sig[:63])
    assert not Identity.verify(me.node_id, b"hello", "not bytes")  # type: ignore[arg-type]


P = 2**255 - 19
# Encodings of small-order points (identity, order 2 and 4) and of non-canonical y >= p.
WEAK = [bytes([1]) + bytes(31), bytes(32), (P - 1).to_bytes(32, "little"), P.to_bytes(32, "little"),
        (P + 1).to_bytes(32, "little"), bytes(32)[:31] + b"\x80"]


@pytest.mark.parametrize("raw", WEAK)
def test_weak_keys_are_never_node_ids(raw: bytes) -> None:
    node_id = encode_node_id(raw)
    assert is_node_id(node_id)  # well-formed text ...
    assert not is_strong_key(raw) and public_key(node_id) is None  # ... of an unusable key
    with pytest.raises(UsageError):
        parse_node_id(node_id)
    forged = bytes([1]) + bytes(31) + bytes(32)  # R = identity, S = 0: "valid" for the identity key
    assert not Identity.verify(node_id, b"any message", forged)


def test_real_keys_are_strong() -> None:
    assert all(is_strong_key(Identity.generate().public_key_bytes) for _ in range(50))
