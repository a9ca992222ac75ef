"""Remote pinning: replicate chosen collections to any IPFS Pinning Service API endpoint.

The API (ipfs/pinning-services-api-spec v1.0.0; ipfs-digest §9) is what IPFS Cluster and the
commercial pinning services speak: bearer-token auth, ``GET/POST /pins``, ``GET/POST/DELETE
/pins/{requestid}``. ``PinClient`` is a small client for it; every answer is bounded and checked,
and error statuses become ``PinningError`` with a message saying what to do::

    client = PinClient(session, settings.pinning.endpoint, settings.pinning.token)
    report = await replicate_to_pinning_service(index, client, ["my-collection"])

``replicate_to_pinning_service`` is idempotent: it first looks up the pins the service already has
for each CID (ten CIDs per request, every status), pins only what is not there, and asks again
(replace) for pins that failed. Each pin carries ``meta`` {collection, sha256, license} and, when
this node's public URL is known, ``origins`` (its HTTP multiaddr) so the service can fetch from it.
A 400 or 404 about one pin is recorded and the run goes on; 401, 409 and 5xx stop the run (every
later call would fail the same way).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass, field
from ipaddress import ip_address
from typing import Any, AsyncIterator, Iterable
from urllib.parse import urlsplit

import aiohttp

from indexer.index import Index
from mirror.errors import ConfigError, PinningError, UsageError
from mirror.home import Home
from mirror.node.reach import guarded_session
from mirror.services import open_home
from mirror.settings import Settings

STATUSES = ("queued", "pinning", "pinned", "failed")
CIDS_PER_QUERY = 10
PAGE_LIMIT = 1000
MAX_RESPONSE = 8 << 20
MAX_NAME = 255
TIMEOUT = 60.0


@dataclass(frozen=True)
class Pin:
    cid: str
    name: str | None = None
    origins: tuple[str, ...] = ()
    meta: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"cid": self.cid}
        if self.name:
            body["name"] = self.name[:MAX_NAME]
        if self.origins:
            body["origins"] = list(self.origins)[:20]
        if self.meta:
            body["meta"] = self.meta
        return body


@dataclass(frozen=True)
class PinStatus:
    requestid: str
    status: str
    created: str
    pin: Pin
    delegates: tuple[str, ...]
    info: dict[str, str] = field(default_factory=dict)


@dataclass
class PinReport:
    contents: int = 0                                     # content CIDs in the chosen collections
    pinned: int = 0                                       # new pin requests
    already: int = 0                                      # already queued, pinning or pinned
    retried: int = 0                                      # failed pins asked again (replace)
    failed: list[dict[str, str]] = field(default_factory=list)   # {cid, error}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- the client ----------------------------------------------------------------------------------

class PinClient:
    """One pinning service: ENDPOINT (the base URL the provider gives) and its access TOKEN."""

    def __init__(self, session: aiohttp.ClientSession, endpoint: str, token: str) -> None:
        if not endpoint.startswith(("http://", "https://")):
            raise UsageError(f"not a pinning service URL: {endpoint!r}",
                             hint="set pinning.endpoint, e.g. https://api.pinata.cloud/psa")
        self.session, self.endpoint, self.token = session, endpoint.rstrip("/"), token

    async def list_pins(self, *, cids: Iterable[str] = (), name: str | None = None, match: str | None = None,
                   status: Iterable[str] = (), before: str | None = None, after: str | None = None,
                   limit: int | None = None, meta: dict[str, str] | None = None) -> tuple[int, list[PinStatus]]:
        """``GET /pins``: (count of all matches, this page of results)."""
        params = {"cid": ",".join(cids), "name": name, "match": match, "status": ",".join(status),
                  "before": before, "after": after, "limit": None if limit is None else str(limit),
                  "meta": json.dumps(meta) if meta else None}
        obj = await self._call("GET", "/pins", params={k: v for k, v in params.items() if v})
        results = obj.get("results")
        if not isinstance(obj.get("count"), int) or not isinstance(results, list):
            raise PinningError(f"{self.endpoint}/pins: the answer is not a PinResults object")
        return obj["count"], [_pin_status(self.endpoint, item) for item in results[:PAGE_LIMIT]]

    async def iter_pins(self, *, page_size: int = PAGE_LIMIT, **filters: Any) -> AsyncIterator[PinStatus]:
        """Every pin matching FILTERS (those of ``list_pins``), newest first, page by page: each
        next page asks for pins created ``before`` the oldest of the previous one."""
        before = filters.pop("before", None)
        while True:
            count, page = await self.list_pins(before=before, limit=page_size, **filters)
            for status in page:
                yield status
            if count <= len(page) or not page:
                return
            before = min(s.created for s in page)

    async def add(self, pin: Pin) -> PinStatus:
        """``POST /pins``."""
        return _pin_status(self.endpoint, await self._call("POST", "/pins", body=pin.to_json()))

    async def get(self, requestid: str) -> PinStatus:
        return _pin_status(self.endpoint, await self._call("GET", f"/pins/{_id(requestid)}"))

    async def replace(self, requestid: str, pin: Pin) -> PinStatus:
        """``POST /pins/{requestid}``: the old pin is removed and the new one added at once."""
        obj = await self._call("POST", f"/pins/{_id(requestid)}", body=pin.to_json())
        return _pin_status(self.endpoint, obj)

    async def delete(self, requestid: str) -> None:
        await self._call("DELETE", f"/pins/{_id(requestid)}")

    async def _call(self, method: str, path: str, *, params: dict[str, str] | None = None,
                    body: dict[str, Any] | None = None) -> dict[str, Any]:
        url = self.endpoint + path
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        try:
            async with self.session.request(method, url, params=params, json=body, headers=headers,
                                            timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as resp:
                data = await resp.content.read(MAX_RESPONSE + 1)
                status = resp.status
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise PinningError(f"cannot reach the pinning service at {self.endpoint}: "
                               f"{type(exc).__name__}: {str(exc)[:200]}") from exc
        if len(data) > MAX_RESPONSE:
            raise PinningError(f"{url}: answer over {MAX_RESPONSE} bytes", status=status)
        if status >= 300:
            raise _failure(url, status, data)
        if method == "DELETE":
            return {}
        try:
            obj = json.loads(data)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            raise PinningError(f"{url}: the answer is not a JSON object", status=status)
        return obj


def _id(requestid: str) -> str:
    if not requestid or len(requestid) > 256 or "/" in requestid:
        raise UsageError(f"not a pin request id: {requestid[:80]!r}")
    return requestid


_WHAT_TO_DO = {
    400: ("the pinning service refused the request", None),
    401: ("the pinning service refused the access token",
          "set pinning.token to a valid token for pinning.endpoint (openmirror config show)"),
    404: ("the pinning service has no such pin or endpoint", "check pinning.endpoint"),
    409: ("the pinning service account has insufficient funds", "top up the account, then run again"),
}


def _failure(url: str, status: int, data: bytes) -> PinningError:
    """The PinningError for an error answer (its Failure body's reason and details, if any)."""
    reason = details = ""
    try:
        error = json.loads(data).get("error", {})
        reason, details = str(error.get("reason", ""))[:100], str(error.get("details", ""))[:300]
    except (ValueError, AttributeError):
        pass
    said = f": {reason}" + (f" ({details})" if details else "") if reason else ""
    what, hint = _WHAT_TO_DO.get(status, (None, None))
    if what is None:
        what = "the pinning service failed" if status >= 500 else "the pinning service refused the call"
        hint = "try again later" if status >= 500 else None
    return PinningError(f"{what} (HTTP {status} for {url}){said}", status=status, hint=hint)


def _pin_status(endpoint: str, obj: Any) -> PinStatus:
    try:
        pin, status = obj["pin"], obj["status"]
        if status not in STATUSES or not isinstance(pin.get("cid"), str):
            raise ValueError(status)
        return PinStatus(requestid=str(obj["requestid"]), status=status, created=str(obj["created"]),
                         pin=Pin(pin["cid"], pin.get("name"), tuple(pin.get("origins") or ()),
                                 dict(pin.get("meta") or {})),
                         delegates=tuple(obj["delegates"]), info=dict(obj.get("info") or {}))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise PinningError(f"{endpoint}: the answer is not a PinStatus object") from None


# -- replicating collections ---------------------------------------------------------------------

def origins_for(public_url: str) -> tuple[str, ...]:
    """This node's HTTP multiaddr (``/ip4/…/tcp/…/http``, ``/dns/…/tcp/…/https``), or () when unknown."""
    if not public_url:
        return ()
    parts = urlsplit(public_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        host = f"/ip{ip_address(parts.hostname).version}/{parts.hostname}"
    except ValueError:
        host = f"/dns/{parts.hostname}"
    return (f"{host}/tcp/{port}/{parts.scheme}",)


async def pins_wanted(index: Index, collections: Iterable[str],
                      origins: tuple[str, ...] = ()) -> list[Pin]:
    """One pin per distinct content CID of the live, published documents of COLLECTIONS (CIDs
    checked against their content's bytes here only: a claim is never pinned; a private
    document's content is no more pinned on a service than served: ``mirror.publication``)."""
    wanted: dict[str, Pin] = {}
    for collection in dict.fromkeys(collections):
        async for doc in index.iter_documents(collection):
            for content in doc.contents if not doc.private else ():
                if content.verified and content.cid not in wanted:
                    meta = {"collection": collection, "sha256": content.sha256, "license": doc.license or ""}
                    wanted[content.cid] = Pin(content.cid, content.name or doc.title or content.sha256,
                                              origins, meta)
    return list(wanted.values())


async def replicate_to_pinning_service(index: Index, client: PinClient, collections: Iterable[str], *,
                                       origins: tuple[str, ...] = ()) -> PinReport:
    """Pin every content CID of COLLECTIONS not pinned yet (see the module docstring)."""
    chosen = [c for c in collections if c]
    if not chosen:
        raise UsageError("no collection chosen to pin remotely",
                         hint="pass --collection NAME or set pinning.collections")
    pins = await pins_wanted(index, chosen, origins)
    report = PinReport(contents=len(pins))
    for start in range(0, len(pins), CIDS_PER_QUERY):
        batch = pins[start:start + CIDS_PER_QUERY]
        existing = await _existing(client, [p.cid for p in batch])
        for pin in batch:
            await _pin_one(client, pin, existing.get(pin.cid, []), report)
    return report


async def _existing(client: PinClient, cids: list[str]) -> dict[str, list[PinStatus]]:
    found: dict[str, list[PinStatus]] = {}
    async for status in client.iter_pins(cids=cids, status=STATUSES):
        found.setdefault(status.pin.cid, []).append(status)
    return found


async def _pin_one(client: PinClient, pin: Pin, existing: list[PinStatus], report: PinReport) -> None:
    try:
        if any(s.status != "failed" for s in existing):
            report.already += 1
        elif existing:
            await client.replace(existing[0].requestid, pin)
            report.retried += 1
        else:
            await client.add(pin)
            report.pinned += 1
    except PinningError as exc:
        if exc.fatal:
            raise
        report.failed.append({"cid": pin.cid, "error": exc.message})


async def pin_home(home: Home, collections: Iterable[str]) -> PinReport:
    """``openmirror pin remote``: replicate COLLECTIONS of HOME's index with its pinning settings."""
    settings = home.settings.pinning
    if not settings.endpoint or not settings.token:
        raise ConfigError("no pinning service is configured",
                          hint="set pinning.endpoint and pinning.token in openmirror.toml "
                               "(or OPENMIRROR_PINNING_ENDPOINT / OPENMIRROR_PINNING_TOKEN)")
    async with open_home(home, read_only=True, identity=False) as services:
        return await pin_collections(services.index, home.settings, collections)


async def pin_collections(index: Index, settings: Settings, collections: Iterable[str]) -> PinReport:
    """Replicate COLLECTIONS of INDEX with the pinning settings of SETTINGS (a running node calls
    this with its own index)."""
    async with await guarded_session(settings, None, trusted=[settings.pinning.endpoint]) as session:
        client = PinClient(session, settings.pinning.endpoint, settings.pinning.token)
        return await replicate_to_pinning_service(index, client, collections,
                                                  origins=origins_for(settings.node.public_url))
