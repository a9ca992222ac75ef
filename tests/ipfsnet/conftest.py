"""Fixtures of the IPFS-network tests: ``js_clients`` (see ``jsclients.py``) skips or fails a test
that needs the third-party JS clients when they are not installed, ``caddy_available`` the same for Caddy; ``nodes`` starts real nodes."""

from caddy import caddy_available  # noqa: F401  (fixture)
from jsclients import js_clients  # noqa: F401  (fixture)

from tests.node.node_helpers import nodes  # noqa: F401  (fixture)
