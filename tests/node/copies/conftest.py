"""Fixtures of the diffusion tests (``swarm``: real volunteer nodes on 127.0.0.1)."""

from copies_helpers import swarm  # noqa: F401
