"""Waiting with a deadline in the node's loops without losing a cancellation.

Python 3.11's ``asyncio.wait_for`` swallows a cancellation that arrives just as the awaited
thing completes (fixed in 3.12): a loop built on it can miss ``Node.stop`` and run for ever.
``asyncio.timeout`` tells its own deadline from a cancellation and loses neither.

    if await wait_event(self._wake, 1.0): ...      # True: set; False: the deadline passed
"""

from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until EVENT is set (True) or TIMEOUT seconds have passed (False)."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True
