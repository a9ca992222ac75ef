"""Where an OAI-PMH ``ListRecords`` list stands, and how it restarts when a token is refused.

Resumption tokens often live only minutes (invenio-oaiserver, behind Zenodo, keeps them 60 s by
default and Zenodo 2 min; DSpace and EPrints expire them too), so a token saved by a killed run, or
one that aged while a page of landing pages was read, may be refused with ``badResumptionToken``.
The list then restarts without a token, from the best ``from`` known:

- while every datestamp listed so far came in datestamp order (invenio-oaiserver's default sort, and
  what many repositories do), from the latest datestamp listed (``last``): every record before it
  was listed already, and one changed since has a newer datestamp, so nothing is missed and only the
  records of that datestamp come again;
- otherwise from the ``from`` the list started with, the whole list again.

Records listed again are found unchanged by the pipeline (same pass). A restart is allowed only when
the list got further than at the previous one (a later ``last``, or more records into the list), so
a repository whose tokens expire before they can be used stops the run with an error instead of
restarting forever; the checkpoint then holds no token, and the rerun starts from ``last``.
"""

from __future__ import annotations

from dataclasses import dataclass

from mirror.sources.dates import parse_when


@dataclass
class Listing:
    """One list in progress: its token, its ``from``, and what has been listed."""

    token: str | None
    list_from: str                 # the ``from`` of the list in progress ("" for everything)
    started: str                   # responseDate of the harvest's first page: the next run's ``from``
    last: str = ""                 # latest datestamp listed, while datestamps came in order
    ordered: bool = True
    reach: int = 0                 # records listed since the list (re)started
    restarts: int = 0
    _mark: tuple[str, int] | None = None    # (last, reach) when it last restarted

    @property
    def in_progress(self) -> bool:
        """True for a list a checkpoint left unfinished (not a new one from a completed run)."""
        return self.token is not None or self.started != ""

    @classmethod
    def restore(cls, state: dict[str, str]) -> "Listing":
        """The list a checkpoint left in progress, or a new list from the last run's ``from``."""
        if "list_from" not in state:
            return cls(None, state.get("from") or "", "")
        last = state.get("last") or ""
        return cls(state.get("resumption_token") or None, state["list_from"], state.get("started") or "",
                   last, bool(last))

    def listed(self, datestamps: list[str | None]) -> None:
        """Take note of one page's datestamps, in list order."""
        for stamp in datestamps:
            self.reach += 1
            when, last = parse_when(stamp), parse_when(self.last)
            if when is None or (last is not None and when < last):
                self.ordered = False
            elif self.ordered:
                self.last = stamp or ""

    def checkpoint(self) -> dict[str, str]:
        """The state to resume from: the next page's token, or without one (a list the repository
        refused to continue) the ``from`` it would restart from."""
        last = self.last if self.ordered else ""
        state = {"list_from": self.list_from if self.token else (last or self.list_from),
                 "started": self.started, "last": last}
        return {"resumption_token": self.token, **state} if self.token else state

    def restart(self) -> bool:
        """Drop the refused token and restart (see the module docstring); False when the list got
        no further since the last restart."""
        if self._mark is not None and not self._progressed(*self._mark):
            self.token = None
            return False
        self._mark = (self.last, self.reach)
        if self.ordered and self.last:
            self.list_from = self.last
        self.token, self.reach = None, 0
        self.restarts += 1
        return True

    def _progressed(self, last: str, reach: int) -> bool:
        if self.ordered and last:
            before, now = parse_when(last), parse_when(self.last)
            return before is not None and now is not None and now > before
        return self.reach > reach
