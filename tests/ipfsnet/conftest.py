"""Fixtures of the IPFS-network tests: see ``jsclients.py`` for the third-party JS clients."""
