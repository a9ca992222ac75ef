"""Import profiles: the named UnixFS settings that fix which CID a byte stream gets (IPIP-499).

    unixfs-v0-2015   CIDv0, 256 KiB chunks, 174 links, dag-pb leaves, HAMT by the ``links`` estimate
                     (Kubo's implicit defaults; alias ``legacy-cid-v0``)
    unixfs-v1-2025   CIDv1, 1 MiB chunks, 1024 links, raw leaves, HAMT by the ``block`` estimate

Both use sha2-256, the balanced layout, HAMT fanout 256 and a 256 KiB threshold compared with
``>`` (Kubo >= 0.40). Tests and special cases build other ``Profile`` values directly (for example
CIDv1 with 256-byte chunks for the gateway fixtures); only the named ones are offered to users.
"""

from __future__ import annotations

from dataclasses import dataclass

from mirror.errors import ConfigError, UnknownProfile
from mirror.store.cid import SHA2_256, SUPPORTED_HASHES

MAX_CHUNK_SIZE = 2 * 1024 * 1024 - 256      # Kubo refuses larger fixed-size chunks
HAMT_ESTIMATES = ("links", "block", "disabled")


@dataclass(frozen=True)
class Profile:
    """How a byte stream or a directory is cut, laid out and encoded into blocks."""

    name: str
    cid_version: int
    chunk_size: int
    max_links: int
    raw_leaves: bool
    hamt_estimate: str                  # "links" | "block" | "disabled"
    hamt_threshold: int = 262_144       # shard when the estimate is strictly greater
    hamt_fanout: int = 256
    trickle: bool = False
    hash_code: int = SHA2_256           # multihash function of every block (sha2-256 by default)

    def __post_init__(self) -> None:
        if self.cid_version not in (0, 1):
            raise ConfigError(f"profile {self.name}: CID version must be 0 or 1")
        if not 0 < self.chunk_size <= MAX_CHUNK_SIZE:
            raise ConfigError(f"profile {self.name}: chunk size must be 1..{MAX_CHUNK_SIZE} bytes")
        if self.max_links < 2:
            raise ConfigError(f"profile {self.name}: a node needs room for at least 2 links")
        if self.hamt_estimate not in HAMT_ESTIMATES:
            raise ConfigError(f"profile {self.name}: HAMT estimate must be one of {HAMT_ESTIMATES}")
        if self.hash_code not in SUPPORTED_HASHES:
            raise ConfigError(f"profile {self.name}: unsupported hash function 0x{self.hash_code:x}")
        if self.hash_code != SHA2_256 and self.cid_version == 0:
            raise ConfigError(f"profile {self.name}: CIDv0 only allows sha2-256")
        fanout = self.hamt_fanout
        if fanout < 8 or fanout > 1024 or fanout & (fanout - 1):
            raise ConfigError(f"profile {self.name}: HAMT fanout must be a power of two in 8..1024")


UNIXFS_V0_2015 = Profile("unixfs-v0-2015", cid_version=0, chunk_size=262_144, max_links=174,
                         raw_leaves=False, hamt_estimate="links")
UNIXFS_V1_2025 = Profile("unixfs-v1-2025", cid_version=1, chunk_size=1_048_576, max_links=1024,
                         raw_leaves=True, hamt_estimate="block")

PROFILES: dict[str, Profile] = {p.name: p for p in (UNIXFS_V0_2015, UNIXFS_V1_2025)}
ALIASES = {"legacy-cid-v0": "unixfs-v0-2015"}
DEFAULT_PROFILE = "unixfs-v1-2025"


def get_profile(name: str) -> Profile:
    """The named profile; raises UnknownProfile listing the valid names."""
    profile = PROFILES.get(ALIASES.get(name, name))
    if profile is None:
        raise UnknownProfile(f"unknown profile {name!r}",
                             hint="valid profiles: " + ", ".join(PROFILES))
    return profile
