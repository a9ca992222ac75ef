"""What the node's public faces (the web pages, OAI-PMH) need of the node that serves them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from indexer.index import Index
from mirror.feed.identity import Identity
from mirror.node.web.html import site_name
from mirror.settings import Settings
from mirror.store import ContentStore


@dataclass(frozen=True)
class Site:
    """What the public faces (these pages, OAI-PMH) need of the node that serves them."""

    identity: Identity
    index: Index
    store: ContentStore
    settings: Settings
    url: Callable[[], str]            # the public base URL (known once the server listens)

    @property
    def name(self) -> str:
        return site_name(self.settings.node.name, self.identity.node_id)
