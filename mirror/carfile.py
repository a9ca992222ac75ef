"""``openmirror car import``: a CAR's blocks into a home, every one verified; a root no published
document lists is not served by the gateway unless pinned (``mirror.publication``).

    found = await import_car_file(home, Path("report.car"))     # [(root, complete)]
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import BinaryIO

from mirror import held
from mirror.home import Home
from mirror.publication import unpublish
from mirror.services import open_home
from mirror.store.cid import CID


async def import_car_file(home: Home, source: Path | BinaryIO) -> list[tuple[CID, bool]]:
    """Import SOURCE (all or nothing: ``CarError`` when it is damaged); each root and whether
    the CAR held its whole DAG."""
    async with open_home(home) as services:
        store = services.store
        roots = await asyncio.to_thread(store.import_car, source)
        found = [(root, await asyncio.to_thread(store.has_all, root)) for root in roots]
        texts = [str(root) for root in roots]
        await held.refresh(services.index, store, texts)
        await unpublish(services.index, store, texts)
    return found
