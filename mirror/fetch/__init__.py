"""Fetching: one polite, hostile-input-safe aiohttp client per run (see ``mirror.fetch.fetcher``)."""

from mirror.fetch.fetcher import Fetcher, FetchedFile, FetchStats, Page, Skipped

__all__ = ["Fetcher", "FetchedFile", "FetchStats", "Page", "Skipped"]
