"""Deserialized responses for browsers: ``GET /ipfs/{cid}[/{path}]`` without a trustless format.

Files are streamed from the exporter (``Range`` gives 206); a directory URL without its trailing
slash is redirected (301) to it; a directory is then served as its ``index.html`` if it has one,
else as a small generated listing (basic and HAMT directories alike).

Mirrored bytes are hostile, and every CID shares the node's origin, so nothing served here may run
in that origin (ipfs-digest §7.2 "Security"):

* every response carries ``Content-Security-Policy: sandbox`` (an opaque origin, no scripts) and
  ``X-Content-Type-Options: nosniff`` (the browser keeps our Content-Type);
* ``Content-Disposition`` is ``inline`` only for types a browser displays without running anything
  (plain text, raster images, PDF, audio, video, JSON); HTML, SVG, XML, scripts and everything
  unknown are ``attachment``, whatever the index or the file name says;
* the Content-Type comes from the index's ``media_type`` for that CID when it is a well-formed
  type, else from the file name, else from the first bytes; it is never trusted as a header
  fragment (no parameters other than ``charset`` survive).
"""

from __future__ import annotations

import asyncio
import html
import itertools
import logging
import mimetypes
import re
import urllib.parse
from dataclasses import dataclass

from aiohttp import web

from indexer.errors import IndexError_
from indexer.records import ContentOut
from mirror.errors import IntegrityError, MirrorError, NotFound, PathNotFound
from mirror.node.http import Problem
from mirror.node.gateway.request import (GatewayState, Target, abort, base_headers,
                                      content_disposition, immutable_headers, iterate_in_thread,
                                      not_modified, parse_range, require_published, resolve_target,
                                      write_body)
from mirror.store.cid import CID, DAG_PB, SHA2_256
from mirror.store.exporter import DirEntry, FileStat, iter_file, ls, resolve, stat

log = logging.getLogger(__name__)

SANDBOX = "sandbox"
LISTING_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src 'none'"
LISTING_VERSION = "openmirror-1"
MAX_LISTING = 10_000
SAFE_INLINE = frozenset({
    "text/plain", "text/csv", "application/json", "application/pdf",
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp",
    "audio/mpeg", "audio/ogg", "audio/wav", "audio/flac", "audio/webm",
    "video/mp4", "video/webm", "video/ogg",
})
_TOKEN = r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}"
_MEDIA_TYPE = re.compile(rf"^({_TOKEN}/{_TOKEN})\s*(?:;\s*charset=\"?([a-z0-9_.:-]{{1,40}})\"?)?\s*(?:;.*)?$")
_MAGIC = ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"),
          (b"\xff\xd8\xff", "image/jpeg"), (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"),
          (b"PK\x03\x04", "application/zip"))


@dataclass(frozen=True)
class Shown:
    """How one file is presented: its media type and the name it is downloaded under."""

    media_type: str
    name: str


async def serve_file(request: web.Request, state: GatewayState, target: Target) -> web.StreamResponse:
    await require_published(request, state, target.cid)
    trail = await resolve_target(state.store.blocks, target)
    info = await _stat(state, trail[-1])
    segments = [s for s in target.path.split("/") if s not in ("", ".", "..")]
    name = segments[-1] if segments else None
    if info.type == "directory":
        if not target.slash:
            return _redirect_to_slash(request)
        index_html = await _index_file(state, trail[-1])
        if index_html is None:
            return await _listing(request, state, target, trail)
        trail, info, name = trail + [index_html.cid], index_html, "index.html"
    if info.type != "file":
        raise Problem(406, f"{trail[-1]} is a {info.type}, not a file or directory; "
                           "ask for ?format=raw or ?format=car")
    known = target.text if trail[-1] == target.cid else None
    shown = await presentation(state, trail[-1], request.query.get("filename") or name, known)
    return await _send_file(request, state, trail, info, shown)


async def _stat(state: GatewayState, cid: CID) -> FileStat:
    try:
        return await asyncio.to_thread(stat, state.store.blocks, cid)
    except NotFound as exc:
        raise Problem(404, str(exc)) from None
    except IntegrityError as exc:
        raise Problem(500, f"the DAG of {cid} held here is damaged: {exc}") from None


def _redirect_to_slash(request: web.Request) -> web.Response:
    location = request.rel_url.raw_path + "/"
    if request.rel_url.raw_query_string:
        location += "?" + request.rel_url.raw_query_string
    return web.Response(status=301, headers={**base_headers(request), "Location": location,
                                             "Content-Security-Policy": SANDBOX})


async def _index_file(state: GatewayState, directory: CID) -> FileStat | None:
    """The stat of the directory's ``index.html`` when it is a file, else None."""
    try:
        cid = await asyncio.to_thread(resolve, state.store.blocks, directory, "index.html")
    except PathNotFound:
        return None
    except NotFound as exc:
        raise Problem(404, str(exc)) from None
    info = await _stat(state, cid)
    return info if info.type == "file" else None


# --- files ---------------------------------------------------------------------------------

async def _send_file(request: web.Request, state: GatewayState, trail: list[CID], info: FileStat,
                     shown: Shown) -> web.StreamResponse:
    cid = trail[-1]
    inline = shown.media_type.split(";")[0] in SAFE_INLINE \
        and request.query.get("download", "").lower() != "true"
    etag = f'"{cid}"'
    headers = {**immutable_headers(request, etag), "Content-Type": shown.media_type,
               "Content-Disposition": content_disposition("inline" if inline else "attachment",
                                                          shown.name),
               "Content-Security-Policy": SANDBOX, "Accept-Ranges": "bytes",
               "X-Ipfs-Roots": ",".join(map(str, trail))}
    cached = not_modified(request, etag, headers)
    if cached is not None:
        return cached
    part = parse_range(request.headers.get("Range"), info.size)
    offset, length, status = 0, info.size, 200
    if part is not None:
        offset, length, status = part.start, part.length, 206
        headers["Content-Range"] = part.content_range(info.size)
    response = web.StreamResponse(status=status, headers=headers)
    response.content_length = length
    await response.prepare(request)
    if request.method == "HEAD" or length == 0:
        await response.write_eof()
        return response
    try:
        await write_body(response, iterate_in_thread(iter_file(state.store.blocks, cid, offset, length)),
                         state.limiter)
    except (MirrorError, OSError):
        abort(request)          # a block went missing or bad mid-stream, or the client left
        return response
    await response.write_eof()
    return response


async def presentation(state: GatewayState, cid: CID, name: str | None, text: str | None) -> Shown:
    """Media type and download name of a file.

    The name: ``name`` (``?filename=`` or the last path segment), else the index's, else the CID.
    The type: the index's media type (looked up under ``text``, the CID as requested, and every
    spelling of ``cid``), else a guess from the name, else the first bytes.
    """
    record = await _indexed(state, cid, text)
    name = name or (record.name if record is not None and record.name else None)
    media = clean_media_type(record.media_type if record is not None else None) \
        or (clean_media_type(mimetypes.guess_type(name)[0]) if name else None) \
        or await _sniff(state, cid)
    if not name:
        name = str(cid) + (mimetypes.guess_extension(media.split(";")[0]) or "")
    return Shown(media, name)


def clean_media_type(value: str | None) -> str | None:
    """A well-formed ``type/subtype`` (with its charset, if any), lowercased; None otherwise."""
    if not value:
        return None
    match = _MEDIA_TYPE.match(value.strip().lower())
    if match is None:
        return None
    return match.group(1) + (f"; charset={match.group(2)}" if match.group(2) else "")


async def _indexed(state: GatewayState, cid: CID, text: str | None) -> ContentOut | None:
    """The index's record of this content as a document names it (any spelling of the CID)."""
    if state.index is None:
        return None
    for key in dict.fromkeys(k for k in (text, *_spellings(cid)) if k):
        try:
            docs = await state.index.find_by_cid(key)
        except IndexError_ as exc:
            log.warning("index lookup for %s failed: %s", key, exc)
            return None
        named = [c for doc in docs for c in doc.contents if c.cid == key]
        if named:
            return next((c for c in named if c.name), named[0])
    return None


def _spellings(cid: CID) -> list[str]:
    """The strings ``ipfs add`` may have printed for this CID: v1 base32 and, if possible, v0."""
    names = [str(cid), str(cid.to_v1())]
    if cid.codec == DAG_PB and cid.hash_code == SHA2_256:
        names.append(str(CID(0, DAG_PB, cid.multihash)))
    return names


async def _sniff(state: GatewayState, cid: CID) -> str:
    head = b"".join(await asyncio.to_thread(lambda: list(iter_file(state.store.blocks, cid, 0, 16))))
    for magic, media in _MAGIC:
        if head.startswith(magic):
            return media
    return "application/octet-stream"


# --- directory listings --------------------------------------------------------------------

async def _listing(request: web.Request, state: GatewayState, target: Target,
                   trail: list[CID]) -> web.Response:
    directory = trail[-1]
    etag = f'"DirIndex-{LISTING_VERSION}_CID-{directory}"'
    headers = {**immutable_headers(request, etag), "Content-Type": "text/html; charset=utf-8",
               "Content-Security-Policy": LISTING_CSP, "X-Ipfs-Roots": ",".join(map(str, trail))}
    cached = not_modified(request, etag, headers)
    if cached is not None:
        return cached
    try:
        entries = await asyncio.to_thread(
            lambda: list(itertools.islice(ls(state.store.blocks, directory), MAX_LISTING + 1)))
    except NotFound as exc:
        raise Problem(404, str(exc)) from None
    except IntegrityError as exc:
        raise Problem(500, f"the directory {directory} held here is damaged: {exc}") from None
    body = render_listing(request.path, entries, has_parent=bool(target.path.strip("/")))
    if request.method != "HEAD" and state.limiter is not None:
        await state.limiter.take(len(body))
    return web.Response(body=body, headers=headers)


def render_listing(path: str, entries: list[DirEntry], *, has_parent: bool) -> bytes:
    """A small HTML table of the entries (names escaped, links percent-encoded and relative)."""
    title = html.escape(path)
    rows = []
    if has_parent:
        rows.append('<tr><td><a href="../">..</a></td><td></td><td></td></tr>')
    for entry in entries[:MAX_LISTING]:
        href = html.escape(urllib.parse.quote(entry.name, safe=""), quote=True)
        rows.append(f'<tr><td><a href="./{href}">{html.escape(entry.name)}</a></td>'
                    f'<td>{entry.tsize}</td><td><code>{entry.cid}</code></td></tr>')
    more = "<p>More entries are not shown.</p>" if len(entries) > MAX_LISTING else ""
    page = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
            f"<title>Index of {title}</title></head><body><h1>Index of {title}</h1>"
            "<table><tr><th>Name</th><th>Size</th><th>CID</th></tr>"
            + "".join(rows) + f"</table>{more}</body></html>")
    return page.encode("utf-8")
