"""Fixtures for the attack tests: an attacker's origin and an internal service (tests.servers.attacker)."""

from tests.servers.attacker import attacker, internal_service  # noqa: F401  (fixtures)
