"""The storage budget: how many bytes of other nodes' content this node may hold, and how many
it holds.

``--storage SIZE`` (``serve``, ``join``) and the ``node.storage`` setting take bytes or a size
with a unit (``300KB``, ``20GB``, ``20GiB``; ``mirror.settings.parse_size``). Only *others'*
content counts: what this node mirrored or added (*own* content) is always kept and never counted.
Sizes come from the index (the content's byte size, the figure every node agrees on), so the
budget means the same on every node whatever its block overhead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from indexer.copies import ContentState
from mirror.settings import Settings, parse_size


@dataclass(frozen=True)
class Usage:
    budget: int          # bytes of others' content this node may hold
    used: int            # bytes of others' content it holds
    own: int             # bytes of its own content it holds (not counted)

    @property
    def free(self) -> int:
        return max(0, self.budget - self.used)

    @property
    def over(self) -> int:
        """Bytes held beyond the budget (after the budget shrank); 0 normally."""
        return max(0, self.used - self.budget)


def storage_budget(settings: Settings, flag: str | int | None = None) -> int:
    """The budget in bytes: the ``--storage`` FLAG when given, else ``node.storage``."""
    return parse_size(flag) if flag is not None else int(settings.node.storage)


def usage(states: Iterable[ContentState], budget: int) -> Usage:
    """What the held contents among STATES use of BUDGET."""
    used = own = 0
    for state in states:
        if state.held:
            if state.own:
                own += state.size
            else:
                used += state.size
    return Usage(budget=budget, used=used, own=own)
