"""The node as an IPNI provider: an advertisement chain of the blocks it holds (``publisher``,
``advert``, ``chain``, ``dagjson``), served over HTTP (``http``) and announced to indexers
(``announce``)."""
