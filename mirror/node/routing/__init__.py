"""The node on the IPFS network's routing layer: its libp2p identity (``peerid``), its addresses as
multiaddrs (``multiaddr``) and the Delegated Routing V1 HTTP API (``api``)."""
