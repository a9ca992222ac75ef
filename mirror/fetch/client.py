"""The one aiohttp ClientSession of a run: identifying User-Agent, timeouts, no automatic decoding,
every connection checked by the address guard (``mirror.fetch.guard``)."""

from __future__ import annotations

import aiohttp
from aiohttp.abc import AbstractResolver

from mirror.fetch.decode import ACCEPT_ENCODING
from mirror.fetch.guard import AddressPolicy, GuardedConnector
from mirror.settings import Settings

OPEN = AddressPolicy(allow_private=True)


def user_agent(settings: Settings) -> str:
    """``fetch.user_agent``, plus `` (contact: X)`` when ``fetch.contact`` is set."""
    agent = str(settings.fetch.user_agent).strip()
    contact = str(settings.fetch.contact).strip()
    return f"{agent} (contact: {contact})" if contact else agent


def timeouts(settings: Settings) -> aiohttp.ClientTimeout:
    """Connect (including the wait for a pooled connection), per-read and whole-request limits."""
    f = settings.fetch
    return aiohttp.ClientTimeout(total=float(f.total_timeout), connect=float(f.connect_timeout),
                                 sock_read=float(f.read_timeout))


def make_session(settings: Settings, concurrency: int, policy: AddressPolicy | None = None,
                 resolver: AbstractResolver | None = None) -> aiohttp.ClientSession:
    """A session that follows no redirects by itself and leaves bodies encoded (see ``decode``),
    whose connector (``session.connector``, a ``GuardedConnector``) connects only where ``policy``
    allows (None: anywhere). ``resolver``: aiohttp's default unless given (tests give their own).

    Header lines and fields keep aiohttp's bounds (8190 bytes each); no Origin header is sent.
    """
    connector = GuardedConnector(policy or OPEN, limit=max(concurrency, 1), limit_per_host=0,
                                 ttl_dns_cache=300, resolver=resolver)
    headers = {"User-Agent": user_agent(settings), "Accept-Encoding": ACCEPT_ENCODING}
    return aiohttp.ClientSession(connector=connector, timeout=timeouts(settings), headers=headers,
                                 auto_decompress=False, raise_for_status=False, trust_env=False)
