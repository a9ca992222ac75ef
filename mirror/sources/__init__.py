"""Sources: one module per kind of collection, behind the protocol in ``mirror.sources.base``.

``open_source(location, fetcher, options, kind=None)`` picks the kind (``kind`` forces one) and
returns a ready ``Source``. Detection, cheapest first:

    local path     a .jsonl/.ndjson/.csv file -> manifest; a folder -> folder
    URL pattern    archive.org/details/NAME -> archive-org; ...jsonl/.ndjson/.csv -> manifest
    the page       the location itself is a sitemap (<urlset>/<sitemapindex>, gzip too) -> sitemap
    probes         ?verb=Identify answers OAI-PMH -> oai-pmh;
                   /api/3/action/status_show (or package_search) answers CKAN -> ckan
    the page       an HTML page -> site

Probes share one fetch of the location. Nothing matching raises ``NotACollection`` (exit 2) with
the reason and a ``--kind`` hint; an unreachable host raises the fetcher's ``FetchError`` instead.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, cast

from mirror.errors import FetchError, HostUnreachable, NotACollection
from mirror.sources.archive_org import ArchiveOrgSource
from mirror.sources.base import Checkpoint, FileRef, Metadata, Record, Source, SourceOptions
from mirror.sources.ckan import CKANSource
from mirror.sources.folder import FolderSource
from mirror.sources.files import local_path
from mirror.sources.manifest import ManifestSource
from mirror.sources.oai_pmh import OAIPMHSource
from mirror.sources.site import SiteSource
from mirror.sources.sitemap import SitemapSource

if TYPE_CHECKING:
    from mirror.fetch.fetcher import Fetcher

SOURCES: dict[str, type[Source]] = {
    cls.kind: cls for cls in (OAIPMHSource, SitemapSource, SiteSource, CKANSource, ArchiveOrgSource,
                              ManifestSource, FolderSource)
}
# Probe order for URLs: no request first, then the shared page, then one probe request each.
_URL_ORDER = (ArchiveOrgSource, ManifestSource, SitemapSource, OAIPMHSource, CKANSource, SiteSource)
KIND_HINT = "force a kind with --kind " + "|".join(SOURCES)

__all__ = ["SOURCES", "open_source", "Source", "SourceOptions", "Record", "Metadata", "FileRef", "Checkpoint"]


async def open_source(location: str, fetcher: "Fetcher", options: SourceOptions,
                      kind: str | None = None) -> Source:
    """The source for ``location``: the named ``kind``, else the detected one."""
    if kind is not None:
        if kind not in SOURCES:
            raise NotACollection(f"unknown source kind {kind!r}", hint=KIND_HINT)
        return SOURCES[kind](location, options)
    if local_path(location) is not None:
        return await _open_local(location, options)
    probe = _ProbeFetcher(fetcher)
    for cls in _URL_ORDER:
        if await cls.detect(location, cast("Fetcher", probe)):
            return cls(location, options)
        if isinstance(unreachable := probe.errors.get(location), HostUnreachable):
            raise unreachable                   # no probe can reach it either
    raise probe.failure(location) or NotACollection(
        f"{location} is not a collection openmirror can harvest "
        "(not OAI-PMH, CKAN, a sitemap, an HTML page or a manifest)", hint=KIND_HINT)


async def _open_local(location: str, options: SourceOptions) -> Source:
    path = local_path(location)
    assert path is not None
    if not await asyncio.to_thread(path.exists):
        raise NotACollection(f"{path}: no such file or folder")
    for cls in (ManifestSource, FolderSource):
        if await cls.detect(location, None):
            return cls(location, options)
    if await asyncio.to_thread(path.is_dir):
        raise NotACollection(f"{path}: the folder holds no files to mirror")
    raise NotACollection(f"{path}: not a manifest (a .jsonl, .ndjson or .csv file) or a folder",
                         hint=KIND_HINT)


class _ProbeFetcher:
    """The fetcher seen by ``detect``: ``get_page`` answers (and failures) are remembered, so the
    sitemap and site probes share one request for the location."""

    def __init__(self, fetcher: "Fetcher") -> None:
        self._fetcher = fetcher
        self._pages: dict[str, Any] = {}
        self.errors: dict[str, FetchError] = {}

    async def get_page(self, url: str, **kw: Any) -> Any:
        if url in self.errors:
            raise self.errors[url]
        if url not in self._pages:
            try:
                self._pages[url] = await self._fetcher.get_page(url, **kw)
            except FetchError as exc:
                self.errors[url] = exc
                raise
        return self._pages[url]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fetcher, name)

    def failure(self, location: str) -> Exception | None:
        """Why the location itself could not be read, when that is the reason detection failed:
        a retryable fetch error (host down, 5xx) as is; a ``gone`` as NotACollection."""
        from mirror.fetch.fetcher import Skipped

        exc = self.errors.get(location)
        if exc is not None and (exc.retryable or isinstance(exc, HostUnreachable)):
            return exc
        if exc is not None:
            return NotACollection(f"{location}: {exc}", hint=KIND_HINT)
        got = self._pages.get(location)
        if isinstance(got, Skipped):
            what = "disallowed by robots.txt" if got.reason == "robots" else f"gone ({got.status})"
            return NotACollection(f"{location}: {what}")
        return None

