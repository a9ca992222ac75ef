"""One HTTP problem family for every face of the node: the API, the gateway, the web pages, OAI-PMH.

    raise Problem(404, "no such held set here", code="not_found")

A handler that refuses a request raises ``Problem`` (status, a short machine ``code``, a one-line
``message`` for people, extra headers). ``problem_middleware`` catches it, and aiohttp's own
answers for unknown paths and methods (404, 405), and writes it in the form of the face that owns
the path: each face registers a ``Renderer`` for its path prefix with ``add_renderer`` (the API
writes ``{"error": {"code", "message"}}``, the gateway one line of text with CORS headers, the web
face a page in the site's style); a path no face claims gets the default renderer, the web page
when the web face is installed. The middleware also gives every response one set of security
headers (``SECURITY_HEADERS``, kept where a handler set its own), except under ``/ipfs/``, whose
deserialized files carry the gateway's sandbox policy. Messages never carry local paths.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Awaitable, Callable

from aiohttp import web

from mirror.node.limits import SERVER_BODY_TIMEOUT, RateLimiter

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; base-uri 'none'; form-action 'self'; "
                                "frame-ancestors 'none'; object-src 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
GATEWAY_PREFIX = "/ipfs/"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Problem(Exception):
    """A request the node refuses: answered with STATUS by the renderer of the path's face."""

    def __init__(self, status: int, message: str, *, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _CODES.get(status, "error")
        self.headers = headers or {}


def bad_request(message: str, status: int = 400, code: str = "bad_request") -> Problem:
    """The common case of a refused parameter or body."""
    return Problem(status, message, code=code)


_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          406: "not_acceptable", 408: "timeout", 410: "gone", 412: "precondition_failed",
          413: "too_large", 415: "unsupported_media_type", 416: "range_not_satisfiable", 429: "rate_limited",
          500: "internal_error", 503: "unavailable"}

Renderer = Callable[[web.Request, Problem], web.StreamResponse]
RENDERERS: web.AppKey[list[tuple[str, Renderer]]] = web.AppKey("openmirror_renderers", list)
DEFAULT_RENDERER: web.AppKey[Renderer] = web.AppKey("openmirror_default_renderer")


def add_renderer(app: web.Application, prefix: str, renderer: Renderer) -> None:
    """Answer problems on paths starting with PREFIX with RENDERER ("" sets the default); installs
    ``problem_middleware`` on APP if it is not there yet (a face served on its own app)."""
    if problem_middleware not in app.middlewares:
        app.middlewares.append(problem_middleware)
    if prefix == "":
        app[DEFAULT_RENDERER] = renderer
        return
    if RENDERERS not in app:
        app[RENDERERS] = []
    app[RENDERERS].append((prefix, renderer))
    app[RENDERERS].sort(key=lambda item: -len(item[0]))


def text_problem(request: web.Request, problem: Problem) -> web.Response:
    """One line of text (nothing for HEAD): the fallback form of any problem."""
    body = "" if request.method == "HEAD" else problem.message + "\n"
    return web.Response(status=problem.status, text=body, headers=problem.headers)


def json_problem(request: web.Request, problem: Problem) -> web.Response:
    """``{"error": {"code", "message"}}``: the API's form (protocol §6)."""
    return web.json_response({"error": {"code": problem.code, "message": problem.message}},
                             status=problem.status, headers=problem.headers)


def _renderer(app: web.Application, path: str) -> Renderer:
    for prefix, renderer in app.get(RENDERERS, []):
        if path.startswith(prefix):
            return renderer
    return app.get(DEFAULT_RENDERER, text_problem)


def _from_aiohttp(exc: web.HTTPException) -> Problem:
    if exc.status == 404:
        return Problem(404, "there is nothing at this address")
    if exc.status == 405:
        return Problem(405, "this method is not allowed here", headers={"Allow": exc.headers.get("Allow", "")})
    return Problem(exc.status, exc.reason)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render ``Problem`` (and aiohttp's 4xx) for the face of the path; add the security headers."""
    try:
        response = await handler(request)
    except Problem as problem:
        response = _renderer(request.app, request.path)(request, problem)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = _renderer(request.app, request.path)(request, _from_aiohttp(exc))
    add_security_headers(request, response)
    return response


def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    if response.prepared:
        return
    if request.path.startswith(GATEWAY_PREFIX):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


# -- reading requests ----------------------------------------------------------------------------

def check_rate(request: web.Request, limiter: RateLimiter, kind: str, message: str) -> None:
    """Refuse with 429 and a Retry-After when the sender of REQUEST is over LIMITER's KIND rate."""
    wait = limiter.check(request.remote or "?", kind)
    if wait > 0:
        raise Problem(429, message, code="rate_limited", headers={"Retry-After": str(max(1, round(wait)))})


def int_param(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    """The query parameter NAME as an integer in [LO, HI] (DEFAULT when absent); Problem(400) else."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if len(raw) > 16 or not raw.isdigit():
        raise bad_request(f"{name} must be an integer")
    value = int(raw)
    if not lo <= value <= hi:
        raise bad_request(f"{name} must be between {lo} and {hi}")
    return value


BODY_TIMEOUT: web.AppKey[float] = web.AppKey("openmirror_body_timeout", float)


def body_timeout(request: web.Request) -> float:
    """Seconds a client has to send a request body (``node.body_timeout`` when the app sets it)."""
    return request.app.get(BODY_TIMEOUT, SERVER_BODY_TIMEOUT)


async def read_body(request: web.Request, limit: int) -> bytes:
    """The request's body, at most LIMIT bytes (413 beyond), received within the body timeout
    (408 after it): every route that reads a body reads it through here or ``read_form``."""
    if request.content_length is not None and request.content_length > limit:
        raise bad_request(f"body over {limit} bytes", 413, "too_large")
    try:
        async with asyncio.timeout(body_timeout(request)):
            data = bytearray()
            async for chunk in request.content.iter_chunked(1 << 14):
                data += chunk
                if len(data) > limit:
                    raise bad_request(f"body over {limit} bytes", 413, "too_large")
    except TimeoutError:
        raise bad_request("body not received in time", 408, "timeout") from None
    return bytes(data)


async def read_form(request: web.Request) -> Any:
    """A form body (``request.post()``, capped by the app's ``client_max_size``), received within
    the body timeout."""
    try:
        async with asyncio.timeout(body_timeout(request)):
            return await request.post()
    except TimeoutError:
        raise bad_request("body not received in time", 408, "timeout") from None


async def read_json(request: web.Request, limit: int) -> dict[str, Any]:
    """The request's JSON object body, at most LIMIT bytes, received within the body timeout."""
    data = await read_body(request, limit)
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        raise bad_request("body is not JSON") from None
    if not isinstance(obj, dict):
        raise bad_request("body is not a JSON object")
    return obj
