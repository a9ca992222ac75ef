"""Fixtures for the attack tests: an attacker's origin and an internal service (tests.servers.attacker),
real volunteer nodes (``swarm``: tests.node.copies.copies_helpers)."""

from tests.servers.attacker import attacker, internal_service  # noqa: F401  (fixtures)
from tests.node.copies.copies_helpers import swarm  # noqa: F401  (fixture)
