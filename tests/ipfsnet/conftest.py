"""Fixtures of the IPFS-network tests: ``js_clients`` (see ``jsclients.py``) skips or fails a test
that needs the third-party JS clients when they are not installed."""

from jsclients import js_clients  # noqa: F401  (fixture)
