"""A fake Kubo RPC API server (aiohttp, 127.0.0.1, port 0) for tests.

It follows the real API exactly for what it serves (ipfs-digest §8; Kubo ``core/commands/*.go``,
``core/corehttp/commands.go`` and go-ipfs-cmds ``http/handler.go``, ``http/responseemitter.go``):

* only POST under ``/api/v0/``: any other method gets **405** ``405 - Method Not Allowed`` (text/plain,
  ``Allow: OPTIONS, POST``); an unknown command gets **404** ``404 page not found``; a request carrying an
  ``Origin`` header gets **403** ``403 - Forbidden`` (Kubo allows only its own localhost origins);
* arguments are repeated ``arg=`` query parameters, flags are query parameters parsed as Go's
  ``strconv.ParseBool`` / ``Atoi`` do; a malformed flag or a missing argument is a client error (**400**);
* a command failing before any output answers **500** (400 for client errors) with the JSON body
  ``{"Message": ..., "Code": 0|1, "Type": "error"}``;
* streaming commands (``add``, ``dag/import``) answer 200 with ``X-Chunked-Output: 1`` and NDJSON, and report
  an error that happens after output began only in the chunked-encoding trailer ``X-Stream-Error`` (every
  answer announces ``Trailer: X-Stream-Error``); single-value commands answer one JSON value and a newline;
  ``block/get`` streams the raw block (``X-Stream-Output: 1``, ``application/vnd.ipld.raw``);
* uploads are ``multipart/form-data``: the part's ``filename`` is the URL-query-escaped path; ``add`` computes
  CIDs with *our* importer honouring ``cid-version``, ``raw-leaves`` (default: on for CIDv1), ``chunker``
  (``size-N``), ``hash``, ``trickle`` and ``max-file-links`` exactly as Kubo resolves them (§3.1), and answers
  ``{"Name", "Hash", "Size"}`` lines (Size a string: the cumulative DAG size);
* ``dag/import`` verifies every block, then (``pin-roots``, default true) pins each header root recursively and
  answers ``{"Root": {"Cid": {"/": cid}, "PinErrorMsg": ""}}`` per root, failing with the trailer
  ``unable to pin all roots: N out of M failed`` when a root's DAG is incomplete;
* ``pin/add`` ``{"Pins": [...]}``; ``pin/ls`` ``{"Keys": {cid: {"Type", "Name"}}}`` and, for an ``arg`` that is not
  pinned, 500 ``path '<arg>' is not pinned``; ``block/stat`` ``{"Key", "Size"}``; ``version``; ``id``.

Not served (Kubo has them; tests here do not need them): directory and symlink parts in ``add``, the
non-``size-N`` chunkers, ``cat``, ``dag/export``, ``pin/rm``. Test switches: ``lie_about_add`` makes ``add``
answer a CID other than the one it computed; ``stream_error`` makes streaming commands fail after their
output began (the last result line is withheld and the error goes in the trailer, as Kubo would).
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator
from urllib.parse import unquote_plus

import pytest
from aiohttp import web

from mirror.errors import MirrorError
from mirror.store.blockstore import BlockStore
from mirror.store.car import CarReader
from mirror.store.cid import CID, HASH_NAMES, RAW, SHA2_256
from mirror.store.dagpb import decode_node
from mirror.store.exporter import has_dag, walk_dag
from mirror.store.profiles import UNIXFS_V0_2015
from mirror.store.unixfs import import_file

VERSION = "0.40.0"
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


class CmdError(Exception):
    """A command failure, rendered as go-ipfs-cmds renders ``cmds.Error``."""

    def __init__(self, message: str, *, client: bool = False) -> None:
        super().__init__(message)
        self.client = client


@dataclass
class Seen:
    method: str
    command: str
    query: list[tuple[str, str]]
    headers: dict[str, str]


class _Chunked(web.StreamResponse):
    """A chunked response written frame by frame, so that it can end with a trailer.

    aiohttp cannot send trailers; like its WebSocket response this class turns aiohttp's own length
    handling off (``_length_check``) and writes the chunked framing itself.
    """

    _length_check = False

    async def start(self, request: web.Request) -> None:
        self.headers["Transfer-Encoding"] = "chunked"
        await self.prepare(request)

    async def send(self, data: bytes) -> None:
        if data:
            await self.write(b"%x\r\n%s\r\n" % (len(data), data))

    async def finish(self, stream_error: str | None = None) -> None:
        trailer = f"X-Stream-Error: {stream_error}\r\n".encode() if stream_error else b""
        await self.write(b"0\r\n" + trailer + b"\r\n")
        await self.write_eof()


@dataclass
class FakeKubo:
    """The fake daemon; ``async with FakeKubo(tmp_path) as kubo: kubo.url ...``."""

    root: Path
    lie_about_add: bool = False
    stream_error: str | None = None
    pins: dict[CID, str] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.blocks = BlockStore(self.root / "kubo-blocks")
        self._runner: web.AppRunner | None = None
        self.url = ""
        self._commands: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = {
            "version": self._version, "id": self._id, "add": self._add, "dag/import": self._dag_import,
            "pin/add": self._pin_add, "pin/ls": self._pin_ls, "block/get": self._block_get,
            "block/stat": self._block_stat,
        }

    async def __aenter__(self) -> "FakeKubo":
        app = web.Application(client_max_size=1024**3)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def is_pinned(self, cid: CID) -> bool:
        return cid in self.pins

    # --- framing ------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        command = path[len("/api/v0/"):] if path.startswith("/api/v0/") else None
        self.seen.append(Seen(request.method, command or path, list(request.query.items()),
                              dict(request.headers)))
        if request.method != "POST":
            return web.Response(status=405, text="405 - Method Not Allowed\n",
                                headers={"Allow": "OPTIONS, POST"})
        if "Origin" in request.headers:
            return web.Response(status=403, text="403 - Forbidden\n")
        handler = self._commands.get(command or "")
        if handler is None:
            return web.Response(status=404, text="404 page not found\n")
        try:
            return await handler(request)
        except CmdError as exc:
            return _error(str(exc), client=exc.client)

    async def _single(self, request: web.Request, value: Any) -> web.StreamResponse:
        resp = _Chunked(headers=_headers("application/json"))
        await resp.start(request)
        await resp.send(json.dumps(value).encode() + b"\n")
        await resp.finish()
        return resp

    async def _stream(self, request: web.Request, lines: list[Any],
                      late_error: str | None = None) -> web.StreamResponse:
        """NDJSON; an error after output began goes only in the trailer (and hides the last line)."""
        error = late_error or self.stream_error
        if self.stream_error and lines:
            lines = lines[:-1]
        resp = _Chunked(headers=_headers("application/json", {"X-Chunked-Output": "1"}))
        await resp.start(request)
        for line in lines:
            await resp.send(json.dumps(line).encode() + b"\n")
        await resp.finish(error)
        return resp

    # --- commands -----------------------------------------------------------------------

    async def _version(self, request: web.Request) -> web.StreamResponse:
        return await self._single(request, {"Version": VERSION, "Commit": "fake", "Repo": "16",
                                            "System": "amd64/linux", "Golang": "go1.25.0"})

    async def _id(self, request: web.Request) -> web.StreamResponse:
        return await self._single(request, {"ID": "12D3KooWFakeKuboFakeKuboFakeKuboFakeKuboFakeKubo",
                                            "PublicKey": "", "Addresses": [],
                                            "AgentVersion": f"kubo/{VERSION}/fake", "Protocols": []})

    async def _add(self, request: web.Request) -> web.StreamResponse:
        profile = _add_profile(request)
        pin = _flag(request, "pin", True)
        only_hash = _flag(request, "only-hash", False)
        lines = []
        reader = await request.multipart()
        async for part in reader:
            if part.headers.get("Content-Type", "") != "application/octet-stream":
                raise CmdError("fake Kubo: only file parts are supported")
            name = _part_filename(part.headers.get("Content-Disposition", ""))
            with tempfile.TemporaryFile(dir=self.root) as tmp:
                while chunk := await part.read_chunk(1 << 20):
                    tmp.write(chunk)
                tmp.seek(0)
                result = await asyncio.to_thread(self._import, tmp, profile, only_hash)
            if pin and not only_hash:
                self.pins[result.cid] = "recursive"
            shown = CID.of(b"a lie: " + bytes(result.cid), result.cid.codec, result.cid.version) \
                if self.lie_about_add else result.cid
            lines.append({"Name": name, "Hash": str(shown), "Size": str(result.dag_size)})
        return await self._stream(request, lines)

    def _import(self, stream: Any, profile: Any, only_hash: bool):  # type: ignore[no-untyped-def]
        if only_hash:
            return import_file(stream, profile, None)
        with self.blocks.batch() as batch:
            return import_file(stream, profile, batch)

    async def _dag_import(self, request: web.Request) -> web.StreamResponse:
        pin_roots = _flag(request, "pin-roots", True)
        stats = _flag(request, "stats", False)
        roots: list[CID] = []
        counts = [0, 0]
        reader = await request.multipart()
        async for part in reader:
            with tempfile.TemporaryFile(dir=self.root) as tmp:
                while chunk := await part.read_chunk(1 << 20):
                    tmp.write(chunk)
                tmp.seek(0)
                try:
                    found = await asyncio.to_thread(self._import_car, tmp, counts)
                except MirrorError as exc:
                    raise CmdError(str(exc)) from exc
            roots += [r for r in found if r not in roots]
        lines: list[Any] = []
        failed = 0
        if pin_roots:
            for root in roots:
                message = self._pin(root)
                failed += bool(message)
                lines.append({"Root": {"Cid": {"/": str(root)}, "PinErrorMsg": message}})
        if stats:
            lines.append({"Stats": {"BlockCount": counts[0], "BlockBytesCount": counts[1]}})
        late = f"unable to pin all roots: {failed} out of {len(roots)} failed" if failed else None
        return await self._stream(request, lines, late)

    def _import_car(self, stream: Any, counts: list[int]) -> list[CID]:
        reader = CarReader(stream)
        with self.blocks.batch() as batch:
            for cid, block in reader:
                batch.put(cid, block)
                counts[0] += 1
                counts[1] += len(block)
        return reader.roots

    def _pin(self, cid: CID) -> str:
        """Pin recursively; '' or Kubo's offline not-found message."""
        if not has_dag(self.blocks, cid):
            missing = next((c for c in _missing(self.blocks, cid)), cid)
            return f"block was not found locally (offline): ipld: could not find {missing}"
        self.pins[cid] = "recursive"
        return ""

    async def _pin_add(self, request: web.Request) -> web.StreamResponse:
        args = _args(request, required="ipfs-path")
        if not _flag(request, "recursive", True):
            raise CmdError("fake Kubo: only recursive pins are supported")
        for cid in args:
            message = self._pin(cid)
            if message:
                raise CmdError(message)
        return await self._single(request, {"Pins": [str(c) for c in args]})

    async def _pin_ls(self, request: web.Request) -> web.StreamResponse:
        kind = request.query.get("type", "all")
        if kind not in ("direct", "indirect", "recursive", "all"):
            raise CmdError(f"invalid type '{kind}', must be one of {{direct, indirect, recursive, all}}")
        raw_args = request.query.getall("arg", [])
        keys: dict[str, dict[str, str]] = {}
        for text, cid in zip(raw_args, _args(request)):
            found = self._pin_type(cid, kind)
            if found is None:
                raise CmdError(f"path '{text}' is not pinned")
            keys[str(cid)] = {"Type": found, "Name": ""}
        if not raw_args:
            keys = {str(c): {"Type": t, "Name": ""} for c, t in self.pins.items()
                    if kind in ("all", t)}
        if _flag(request, "stream", False):
            return await self._stream(request, [{"Cid": k, "Type": v["Type"]} for k, v in keys.items()])
        return await self._single(request, {"Keys": keys})

    def _pin_type(self, cid: CID, kind: str) -> str | None:
        if cid in self.pins and kind in ("all", "recursive"):
            return "recursive"
        if kind in ("all", "indirect"):
            for root in self.pins:
                if any(c == cid for c, _ in walk_dag(self.blocks, root)):
                    return f"indirect through {root}"
        return None

    async def _block_get(self, request: web.Request) -> web.StreamResponse:
        (cid,) = _args(request, required="cid", most=1)
        data = self._block(cid)
        resp = _Chunked(headers=_headers("application/vnd.ipld.raw", {"X-Stream-Output": "1"}))
        await resp.start(request)
        await resp.send(data)
        await resp.finish()
        return resp

    async def _block_stat(self, request: web.Request) -> web.StreamResponse:
        (cid,) = _args(request, required="cid", most=1)
        return await self._single(request, {"Key": str(cid), "Size": len(self._block(cid))})

    def _block(self, cid: CID) -> bytes:
        if not self.blocks.has(cid):
            raise CmdError(f"block was not found locally (offline): ipld: could not find {cid}")
        return self.blocks.get(cid)


# --- helpers --------------------------------------------------------------------------------------

def _headers(content_type: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    headers = {"Content-Type": content_type, "Trailer": "X-Stream-Error",
               "Access-Control-Allow-Headers": "X-Stream-Output, X-Chunked-Output, X-Content-Length",
               "Access-Control-Expose-Headers": "X-Stream-Output, X-Chunked-Output, X-Content-Length",
               "Server": f"kubo/{VERSION}"}
    headers.update(extra or {})
    return headers


def _error(message: str, *, client: bool = False) -> web.Response:
    body = json.dumps({"Message": message, "Code": 1 if client else 0, "Type": "error"}) + "\n"
    return web.Response(status=400 if client else 500, text=body, content_type="application/json",
                        headers={"Trailer": "X-Stream-Error"})


def _flag(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name)
    if value is None:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise CmdError(f'strconv.ParseBool: parsing "{value}": invalid syntax', client=True)


def _int(request: web.Request, name: str, default: int) -> int:
    value = request.query.get(name)
    if value is None:
        return default
    if not re.fullmatch(r"[+-]?\d+", value):
        raise CmdError(f'strconv.Atoi: parsing "{value}": invalid syntax', client=True)
    return int(value)


def _args(request: web.Request, *, required: str | None = None, most: int | None = None) -> list[CID]:
    texts = request.query.getall("arg", [])
    if required and not texts:
        raise CmdError(f'argument "{required}" is required', client=True)
    if most is not None and len(texts) > most:
        raise CmdError(f"expected {most} argument(s), got {len(texts)}", client=True)
    cids = []
    for text in texts:
        try:
            cids.append(CID.decode(text.removeprefix("/ipfs/")))
        except MirrorError as exc:
            raise CmdError(f"invalid path {text!r}: {exc}") from exc
    return cids


def _add_profile(request: web.Request):  # type: ignore[no-untyped-def]
    """The import settings of one ``add`` call, resolved in Kubo's order (§3.1)."""
    version = _int(request, "cid-version", 0)
    hash_name = request.query.get("hash", "sha2-256")
    if hash_name not in HASH_NAMES:
        raise CmdError(f"unrecognized hash function: {hash_name}")
    hash_code = HASH_NAMES[hash_name]
    if hash_code != SHA2_256 and version == 0:
        if "cid-version" in request.query:
            raise CmdError("CIDv0 only supports sha2-256")
        version = 1
    raw_leaves = _flag(request, "raw-leaves", version == 1)
    chunker = request.query.get("chunker", "size-262144")
    match = re.fullmatch(r"size-(\d+)", chunker)
    if not match:
        raise CmdError(f"fake Kubo: unsupported chunker {chunker!r} (only size-N)")
    return replace(UNIXFS_V0_2015, name="kubo-add", cid_version=version, raw_leaves=raw_leaves,
                   chunk_size=int(match.group(1)), max_links=_int(request, "max-file-links", 174),
                   trickle=_flag(request, "trickle", False), hash_code=hash_code)


def _part_filename(disposition: str) -> str:
    match = re.search(r'filename="([^"]*)"', disposition)
    if not match:
        raise CmdError("multipart part without a filename", client=True)
    return unquote_plus(match.group(1))


def _missing(store: BlockStore, cid: CID):  # type: ignore[no-untyped-def]
    """The first missing block under ``cid`` (for Kubo's not-found message)."""
    stack = [cid]
    while stack:
        current = stack.pop()
        if not store.has(current):
            yield current
            return
        if current.codec != RAW:
            stack += [CID.from_bytes(link.hash) for link in decode_node(store.get(current)).links]


@pytest.fixture
def kubo(tmp_path: Path) -> Iterator[FakeKubo]:
    """The fake Kubo on its own event loop in a thread (the CLI runs its own loop)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = FakeKubo(tmp_path / "kubo")
    asyncio.run_coroutine_threadsafe(fake.__aenter__(), loop).result(10)
    yield fake
    asyncio.run_coroutine_threadsafe(fake.__aexit__(None, None, None), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()
