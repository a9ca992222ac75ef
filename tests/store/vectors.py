"""Deterministic inputs of the IPFS test vectors (docs: ipfs-digest §5.4-5.5), generated streaming.

* ``ChaChaStream``: Kubo test/cli's ``random_deterministic`` data: the IETF ChaCha20 keystream
  (key = sha256(seed), all-zero 12-byte nonce, counter from 0), cut to ``size`` bytes. A readable
  binary stream, so gigabytes never sit in memory.
* ``hamt_names``: the file names of Kubo's HAMT threshold directories (``createDeterministicFiles``).
* ``load_vectors``: the expected CIDs, kept as data in ``vectors.csv``.
* ``BlockCollector``: a BlockSink keeping every block in a dict, to inspect DAG layouts.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from mirror.store.cid import CID

VECTORS_CSV = Path(__file__).with_name("vectors.csv")
HAMT_ALPHABET = "abcdefghijklmnopqrstuvwxyz01234567890-_"     # 39 chars: "0" appears twice


class ChaChaStream(io.RawIOBase):
    """``size`` bytes of the ChaCha20 keystream for ``seed``, read like a file."""

    def __init__(self, seed: str, size: int) -> None:
        key = hashlib.sha256(seed.encode("utf-8")).digest()
        self._cipher = Cipher(algorithms.ChaCha20(key, b"\0" * 16), mode=None).encryptor()
        self._left = size
        self._zeros = bytes(1 << 20)

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        view = memoryview(buf).cast("B")
        n = min(len(view), self._left, len(self._zeros))
        if n:
            self._cipher.update_into(self._zeros[:n], view[:n])
            self._left -= n
        return n


def chacha_bytes(seed: str, size: int) -> bytes:
    return ChaChaStream(seed, size).read()


def hamt_names(seed: str, count: int, name_len: int, last_name_len: int) -> list[str]:
    """Names drawn from one ChaCha20 stream of 1 MiB: each byte b becomes ALPHABET[b % 39]."""
    stream = io.BufferedReader(ChaChaStream(seed, 1 << 20))
    names = []
    for i in range(count):
        raw = stream.read(last_name_len if i == count - 1 else name_len)
        names.append("".join(HAMT_ALPHABET[b % len(HAMT_ALPHABET)] for b in raw))
    return names


def load_vectors(kind: str | None = None) -> list[dict[str, str]]:
    with VECTORS_CSV.open(newline="", encoding="utf-8") as f:
        rows = [row for row in csv.DictReader(f) if not row["id"].startswith("#")]
    return [row for row in rows if kind is None or row["kind"] == kind]


class BlockCollector:
    """A BlockSink that keeps every block in a dict (small vectors only)."""

    def __init__(self) -> None:
        self.blocks: dict[CID, bytes] = {}
        self.puts = 0

    def put(self, cid: CID, data: bytes) -> None:
        self.blocks[cid] = data
        self.puts += 1
