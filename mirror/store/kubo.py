"""A thin client for the Kubo RPC API (ipfs-digest §8), spoken with aiohttp.

Rules of that API: every call is a POST to ``/api/v0/<command>``; positional arguments are repeated
``arg=`` query parameters and flags are query parameters (``true``/``false``); uploads are
``multipart/form-data`` with one part per file whose ``filename`` is the URL-query-escaped path;
streaming answers are NDJSON (``X-Chunked-Output: 1``); a failed command answers 500 (400 for a bad
call) with ``{"Message", "Code", "Type"}``. No ``Origin`` header is sent (Kubo answers 403 to
browser origins it does not know).

Pushing content (``push``), the recipe of §8: the CID is computed locally, the exact blocks go to
Kubo as a CAR through ``dag/import`` with ``pin-roots=true`` (bit-exact whatever the daemon's
``Import.*`` config, directories included), the root Kubo reports must be ours, and
``pin/ls?arg=<cid>&type=recursive`` must confirm the pin. ``add_file`` is the independent check: it
asks Kubo's own importer (``add`` with every profile parameter explicit) and raises CIDMismatch when
Kubo's CID differs from ours.

Errors that happen after Kubo has started streaming are sent only in the HTTP trailer
``X-Stream-Error``; aiohttp parses and drops trailers, so this client instead never trusts a stream
that ends without its final record (``add``: the root line; ``dag/import``: every root line) and
always confirms pins with a separate ``pin/ls``. A daemon that cannot be reached raises NotReady.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator
from urllib.parse import quote_plus

import aiohttp

from mirror.errors import CIDMismatch, InvalidCID, KuboError, NotReady
from mirror.store.blockstore import BlockStore
from mirror.store.car import aiter_car
from mirror.store.cid import CID, HASH_NAMES
from mirror.store.profiles import Profile
from mirror.store.unixfs import import_file

USER_AGENT = "openmirror-kubo-client/0.1"
MAX_ERROR_BODY = 64 * 1024
_MULTIADDR = re.compile(r"^/(ip4|ip6|dns|dns4|dns6)/([^/]+)/tcp/(\d+)(/https?)?/?$")
_HASH_NAME = {code: name for name, code in HASH_NAMES.items()}
_NOT_READY_HINT = ("start the daemon (ipfs daemon) or correct store.ipfs_api / --ipfs-api; "
                   "the RPC API listens on 127.0.0.1:5001 by default")


def api_base(url: str) -> str:
    """``http://host:5001`` (or a ``/ip4/.../tcp/5001`` multiaddr) -> ``http://host:5001/api/v0``."""
    text = url.strip()
    match = _MULTIADDR.match(text)
    if match:
        proto, host, port, scheme = match.groups()
        host = f"[{host}]" if proto == "ip6" else host
        text = f"{'https' if scheme == '/https' else 'http'}://{host}:{port}"
    if not text.startswith(("http://", "https://")):
        raise KuboError(f"not a Kubo RPC API URL: {url!r}", hint="use e.g. http://127.0.0.1:5001")
    text = text.rstrip("/")
    return text if text.endswith("/api/v0") else text + "/api/v0"


def add_params(profile: Profile, *, pin: bool = True) -> list[tuple[str, str]]:
    """Every ``add`` parameter that decides the CID, explicit (never the daemon's Import config)."""
    return [("cid-version", str(profile.cid_version)), ("raw-leaves", _bool(profile.raw_leaves)),
            ("chunker", f"size-{profile.chunk_size}"), ("hash", _HASH_NAME[profile.hash_code]),
            ("trickle", _bool(profile.trickle)), ("max-file-links", str(profile.max_links)),
            ("inline", "false"), ("pin", _bool(pin)), ("progress", "false")]


def _bool(value: bool) -> str:
    return "true" if value else "false"


class KuboClient:
    """Async client for one Kubo RPC API; use as ``async with KuboClient(url) as kubo:``."""

    def __init__(self, url: str, auth: str | None = None, *, timeout: float = 300.0) -> None:
        self.url = url
        self.base = api_base(url)
        headers = {"User-Agent": USER_AGENT}
        if auth:
            headers["Authorization"] = auth
        self._headers = headers
        self._timeout = aiohttp.ClientTimeout(total=None, connect=15, sock_connect=15,
                                              sock_read=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "KuboClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- commands -------------------------------------------------------------------------

    async def version(self) -> dict[str, Any]:
        return await self._json("version")

    async def id(self) -> dict[str, Any]:
        return await self._json("id")

    async def add_file(self, path: Path | str, profile: Profile, *, expected: CID | None = None,
                       pin: bool = True) -> CID:
        """Add one file with Kubo's importer; raise CIDMismatch unless its CID equals ours."""
        path = Path(path)
        if expected is None:
            expected = await asyncio.to_thread(_cid_of_file, path, profile)
        with await asyncio.to_thread(open, path, "rb") as fh:
            writer = aiohttp.MultipartWriter("form-data")
            part = writer.append(fh, {"Content-Type": "application/octet-stream"})
            part.set_content_disposition("form-data", quote_fields=False, name="file",
                                         filename=quote_plus(path.name, safe=""))
            lines = await self._ndjson("add", add_params(profile, pin=pin), writer)
        hashes = [line["Hash"] for line in lines if isinstance(line, dict) and "Hash" in line]
        if not hashes:
            raise KuboError("Kubo add returned no CID (its stream ended early)",
                            hint="check the daemon's log; the error was sent in a trailer")
        got = _parse_cid(hashes[-1], "add")
        if got != expected:
            raise CIDMismatch(f"Kubo computed {got} for {path.name}, we computed {expected}",
                              hint=f"the daemon may be older than 0.40 or ignore a parameter "
                                   f"of profile {profile.name}")
        return got

    async def dag_import(self, car: AsyncIterable[bytes], *, pin_roots: bool = True) -> list[CID]:
        """Send a CAR stream; returns the roots Kubo reports. A failed root pin raises KuboError."""
        writer = aiohttp.MultipartWriter("form-data")
        part = writer.append(car, {"Content-Type": "application/octet-stream"})
        part.set_content_disposition("form-data", quote_fields=False, name="file", filename="data.car")
        lines = await self._ndjson("dag/import", [("pin-roots", _bool(pin_roots)),
                                                  ("stats", "false")], writer)
        roots: list[CID] = []
        for line in lines:
            root = line.get("Root") if isinstance(line, dict) else None
            if not isinstance(root, dict):
                continue
            cid = _parse_cid(str((root.get("Cid") or {}).get("/", "")), "dag/import")
            if root.get("PinErrorMsg"):
                raise KuboError(f"Kubo could not pin {cid}: {root['PinErrorMsg']}")
            roots.append(cid)
        return roots

    async def pin_add(self, cid: CID) -> None:
        await self._json("pin/add", [("arg", str(cid)), ("recursive", "true")])

    async def is_pinned(self, cid: CID) -> bool:
        """True when ``cid`` is pinned recursively (``pin/ls`` answers 500 "not pinned" otherwise)."""
        try:
            answer = await self._json("pin/ls", [("arg", str(cid)), ("type", "recursive")])
        except KuboError as exc:
            if exc.status == 500 and "not pinned" in exc.message:
                return False
            raise
        keys = answer.get("Keys") if isinstance(answer, dict) else None
        return isinstance(keys, dict) and any(_same(k, cid) for k in keys)

    async def block_stat(self, cid: CID) -> int:
        answer = await self._json("block/stat", [("arg", str(cid))])
        return int(answer["Size"])

    async def push(self, store: BlockStore, root: CID) -> None:
        """Import the whole DAG of ``root`` into Kubo, pinned, and confirm the pin."""
        roots = await self.dag_import(aiter_car(store, [root]))
        if not any(_same(str(r), root) for r in roots):
            raise KuboError(f"Kubo's dag/import did not report the root {root}",
                            hint="check the daemon's log; the error was sent in a trailer")
        if not await self.is_pinned(root):
            raise KuboError(f"Kubo imported {root} but does not list it as pinned")

    # --- transport ------------------------------------------------------------------------

    def _session_for(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        return self._session

    @asynccontextmanager
    async def _post(self, command: str, params: list[tuple[str, str]] | None = None,
                    data: Any = None) -> AsyncIterator[aiohttp.ClientResponse]:
        url = f"{self.base}/{command}"
        try:
            async with self._session_for().post(url, params=params or [], data=data) as resp:
                if resp.status != 200:
                    raise await _error_of(resp, command)
                yield resp
        except aiohttp.ClientConnectorError as exc:
            raise NotReady(f"cannot reach the Kubo RPC API at {self.url} ({exc.os_error or exc})",
                           hint=_NOT_READY_HINT) from exc
        except asyncio.TimeoutError as exc:
            raise KuboError(f"Kubo {command}: no answer in time from {self.url}") from exc
        except aiohttp.ClientError as exc:
            raise KuboError(f"Kubo {command}: the connection failed ({exc})") from exc

    async def _json(self, command: str, params: list[tuple[str, str]] | None = None) -> Any:
        lines = await self._ndjson(command, params)
        if not lines:
            raise KuboError(f"Kubo {command} returned nothing")
        return lines[-1]

    async def _ndjson(self, command: str, params: list[tuple[str, str]] | None = None,
                      data: Any = None) -> list[Any]:
        """POST and collect the JSON values of the answer (one value, or one per NDJSON line)."""
        async with self._post(command, params, data) as resp:
            lines: list[Any] = []
            try:
                async for line in resp.content:
                    if line.strip():
                        lines.append(_loads(line, command))
            except ValueError as exc:       # aiohttp: a line over its buffer limit
                raise KuboError(f"Kubo {command}: an answer line is too long ({exc})") from exc
            return lines


async def _error_of(resp: aiohttp.ClientResponse, command: str) -> KuboError:
    body = (await resp.content.read(MAX_ERROR_BODY)).decode("utf-8", "replace").strip()
    message = body
    try:
        decoded = json.loads(body)
        if isinstance(decoded, dict) and "Message" in decoded:
            message = str(decoded["Message"])
    except ValueError:
        pass
    hint = {
        404: "this daemon has no such command; is the URL a Kubo RPC API (port 5001), and Kubo >= 0.40?",
        405: "the RPC API only accepts POST; is the URL the RPC API and not a gateway?",
        403: "the daemon refused the request (API.Authorizations or an Origin rule)",
        401: "the daemon wants credentials: set store.ipfs_api_auth",
    }.get(resp.status)
    return KuboError(f"Kubo {command} failed ({resp.status}): {message or resp.reason}",
                     status=resp.status, hint=hint)


def _loads(line: bytes, command: str) -> Any:
    try:
        return json.loads(line)
    except ValueError as exc:
        raise KuboError(f"Kubo {command}: the answer is not JSON ({line[:80]!r})") from exc


def _parse_cid(text: str, command: str) -> CID:
    try:
        return CID.decode(text)
    except InvalidCID as exc:
        raise KuboError(f"Kubo {command} answered an invalid CID {text!r}") from exc


def _same(text: str, cid: CID) -> bool:
    """Kubo may print a CID in another version or base; compare the decoded values."""
    try:
        return CID.decode(text) == cid
    except InvalidCID:
        return False


def _cid_of_file(path: Path, profile: Profile) -> CID:
    with open(path, "rb") as fh:
        return import_file(fh, profile).cid
