"""Fixtures of the IPFS-network tests: ``js_clients`` (see ``jsclients.py``) skips or fails a test
that needs the third-party JS clients when they are not installed; ``nodes`` starts real nodes."""

from jsclients import js_clients  # noqa: F401  (fixture)

from tests.node.node_helpers import nodes  # noqa: F401  (fixture)
