"""Speed and size of feed entries: signing, encoding, verification, and bytes on the wire.

Run: ``python bench/entry_speed.py [N]`` (default 100,000 entries). Prints

* the payload encoding comparison that chose canonical JSON over dag-cbor (encode/decode rates
  and sizes on the same bodies);
* make_entry (encode + sign + self-check) and encode_page rates;
* decode_page (parse) and signature verification rates on 1 and 2 threads, and the whole
  receive path (decode_page + verify_chain);
* the bytes of the whole feed as pages of 1,000 entries against the same entries as one
  zstd-compressed JSON Lines stream (issue 5 target: <= 1.5x).

Wall-clock rates depend on the load of the machine (the load average is printed); rates per
CPU-second do much less, and "cores" shows how many cores a step kept busy.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import sys
import threading
import time
from typing import Any, Callable

import dag_cbor
import zstandard

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from indexer.records import ContentIn, DocumentIn  # noqa: E402
from mirror.feed.codec import decode_page, encode_page  # noqa: E402
from mirror.feed.entry import Entry, encode_payload, first_bad_signature, make_entry, verify_chain  # noqa: E402
from mirror.feed.identity import Identity  # noqa: E402

PAGE = 1000
WORDS = ("open data archive river climate survey letters music poetry map history study report "
         "analysis ocean forest census atlas journal diary photograph speech manuscript field "
         "notes birds language city harbour railway school village").split()
LICENCES = [("CC-BY-4.0", "https://creativecommons.org/licenses/by/4.0/"),
            ("CC0-1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
            ("CC-BY-SA-4.0", "https://creativecommons.org/licenses/by-sa/4.0/")]
MEDIA = [("application/pdf", "pdf"), ("text/csv", "csv"), ("image/jpeg", "jpg")]
B32 = "abcdefghijklmnopqrstuvwxyz234567"


def synthetic_document(i: int, rng: random.Random) -> DocumentIn:
    """A document shaped like a Zenodo/OAI record with one file."""
    digest = hashlib.sha256(f"content {i}".encode()).hexdigest()
    record = f"https://zenodo.org/records/{4000000 + i}"
    media, ext = rng.choice(MEDIA)
    spdx, url = rng.choice(LICENCES)
    size = rng.randint(2_000, 80_000_000)
    content = ContentIn(sha256=digest, size=size, profile="unixfs-v1-2025", media_type=media,
                        cid="bafybei" + "".join(rng.choice(B32) for _ in range(52)),
                        name=f"file-{i}.{ext}", url=f"{record}/files/file-{i}.{ext}")
    return DocumentIn(
        collection="zenodo", source_id=f"oai:zenodo.org:{4000000 + i}",
        title=" ".join(rng.choices(WORDS, k=rng.randint(4, 12))).capitalize(),
        creators=[f"{rng.choice(WORDS).title()}, {rng.choice('ABCDEFGHJKLM')}." for _ in range(rng.randint(1, 5))],
        description=" ".join(rng.choices(WORDS, k=rng.randint(20, 80))),
        subjects=rng.sample(WORDS, 3), language="en", date=f"{rng.randint(1990, 2025)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
        type="dataset", source_url=content.url, landing_url=record, license=spdx, license_url=url,
        license_statement=url, retrieved_at=f"2025-0{rng.randint(1, 9)}-12T10:{rng.randint(10, 59)}:00Z",
        http_status=200,
        http_headers={"content-type": media, "content-length": str(size), "etag": f'"md5:{digest[:32]}"',
                      "last-modified": "Tue, 02 Mar 2021 10:00:00 GMT"},
        contents=[content])


def rate(n: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Entries per second of wall time; also remembers entries per CPU-second in RATES."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    RATES.append((n / wall, n / cpu, cpu / wall))
    return n / wall, result


RATES: list[tuple[float, float, float]] = []


def line(label: str) -> None:
    """Print the last measurement: wall rate, CPU rate (robust to a busy machine), cores used."""
    wall, cpu, used = RATES[-1]
    print(f"{label:40s} {wall:9,.0f}/s wall  {cpu:9,.0f}/s per CPU-second  {used:4.2f} cores")


def gil_released_by_verify() -> bool:
    """Does Ed25519 verification let other threads run? (the longest pause of a ticking thread)"""
    me = Identity.generate()
    data = bytes(64 << 20)
    sig = me.sign(data)
    longest, done = 0.0, threading.Event()
    worker = threading.Thread(target=lambda: (Identity.verify(me.node_id, data, sig), done.set()))
    worker.start()
    last = time.perf_counter()
    while not done.is_set():
        time.sleep(0.002)
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
    worker.join()
    return longest < 0.05


def compare_encodings(bodies: list[dict[str, Any]]) -> None:
    n = len(bodies)
    jenc = [encode_payload(b) for b in bodies]
    cenc = [dag_cbor.encode(b) for b in bodies]
    for name, enc, dec, blobs in (("canonical JSON", encode_payload, json.loads, jenc),
                                  ("dag-cbor", dag_cbor.encode, dag_cbor.decode, cenc)):
        rate(n, lambda: [enc(b) for b in bodies])
        e = RATES[-1][1]
        rate(n, lambda: [dec(b) for b in blobs])
        d = RATES[-1][1]
        zsize = len(zstandard.ZstdCompressor(level=3).compress(b"".join(blobs)))
        print(f"  {name:15s} encode {e:9,.0f}/CPU-s  decode {d:9,.0f}/CPU-s  "
              f"{sum(map(len, blobs)) / n:6.0f} B/entry raw  {zsize / n:5.0f} B/entry zstd")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("entries", nargs="?", type=int, default=100_000, help="entries (default 100,000)")
    n = parser.parse_args().entries
    print(f"entries: {n:,}   cores: {os.cpu_count()}   load average: {os.getloadavg()[0]:.2f}")
    rng = random.Random(5)
    docs = [synthetic_document(i, rng) for i in range(n)]
    print("payload encoding (10,000 document bodies):")
    compare_encodings([d.to_dict() for d in docs[:10_000]])

    me = Identity.generate()
    bodies = [d.to_dict() for d in docs]

    def make_all() -> list[Entry]:
        out, prev = [], None
        for i, body in enumerate(bodies):
            prev = make_entry(me, i + 1, prev, "put", body)
            out.append(prev)
        return out

    _, entries = rate(n, make_all)
    line("make_entry (encode + sign + self-parse)")
    _, pages = rate(n, lambda: [encode_page(entries[i:i + PAGE]) for i in range(0, n, PAGE)])
    line("encode_page")
    limits = {"max_entries": PAGE, "max_bytes": 32 << 20}
    _, decoded = rate(n, lambda: [decode_page(p, **limits) for p in pages])
    line("decode_page (parse, unverified)")
    assert [e for page in decoded for e in page] == entries
    print(f"Ed25519 verify releases the GIL: {'yes' if gil_released_by_verify() else 'NO'}")
    for threads in (1, 2):
        _, bad = rate(n, lambda: [first_bad_signature(entries[i:i + PAGE], threads=threads)
                                  for i in range(0, n, PAGE)])
        assert bad == [None] * len(bad)
        line(f"verify signatures, {threads} thread(s)")
    rate(n, lambda: receive_all(pages, me.node_id, limits))
    line("receive (decode_page + verify_chain)")
    print(f"  -> a fresh node verifies 1,000,000 entries in {1_000_000 / RATES[-1][0]:,.0f} s at this load, "
          f"{1_000_000 / RATES[-1][1]:,.0f} CPU-seconds")
    print(f"load average now: {os.getloadavg()[0]:.2f}")
    report_sizes(entries, pages)


def receive_all(pages: list[bytes], author: str, limits: dict[str, int]) -> None:
    seq, head, ts = 0, None, None
    for body in pages:
        page = decode_page(body, **limits)
        verify_chain(page, author=author, after_seq=seq, after_hash=head, after_ts=ts)
        seq, head, ts = page[-1].seq, page[-1].hash, page[-1].ts


def report_sizes(entries: list[Entry], pages: list[bytes]) -> None:
    wire = sum(map(len, pages))
    signed = b"".join(json.dumps({**json.loads(e.payload), "sig": base64.b64encode(e.signature).decode()},
                                 separators=(",", ":")).encode() + b"\n" for e in entries)
    bare = b"".join(e.payload + b"\n" for e in entries)
    signed_z = len(zstandard.ZstdCompressor(level=3).compress(signed))
    bare_z = len(zstandard.ZstdCompressor(level=3).compress(bare))
    n = len(entries)
    print(f"wire bytes, pages of {PAGE}:              {wire:12,d}  ({wire / n:5.0f} B/entry)")
    print(f"zstd JSON Lines, entries with signature: {signed_z:12,d}  ratio {wire / signed_z:.2f}x (target <= 1.5x)")
    print(f"zstd JSON Lines, payloads only:          {bare_z:12,d}  ratio {wire / bare_z:.2f}x")


if __name__ == "__main__":
    main()
