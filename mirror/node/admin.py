"""The node's administrative API, out of reach of anyone but the operator (issue 12, item 6).

Every program on the node's host, and every web page a browser on that host shows, can send
requests to 127.0.0.1: being local proves nothing. So an administrative route (today
``POST /api/v1/peers``; anything that changes the node's state) answers only a request that

1. carries **no** ``Origin`` header: browsers send one with every POST and every cross-origin
   call, so a page cannot make a browser act on the node (403);
2. names the node in ``Host``: an IP address, ``localhost``, the host of ``node.listen`` or of the
   node's URL (``node.public_url``). A page on ``evil.example`` whose name an attacker points at
   127.0.0.1 (DNS rebinding) makes the browser send ``Host: evil.example:8470`` (403);
3. carries ``Authorization: Bearer TOKEN`` with the home's token (``HOME/admin.token``, created on
   first use, mode 0600, beside ``node.key``) or ``node.admin_token`` (403);
4. has a JSON body (``Content-Type: application/json``): an HTML form cannot send one (415).

The CLI acts for the operator: while a node serves, ``HOME/node.api`` holds the URL of its listen
address, and ``admin_call`` reads it and the token from the home (``openmirror peers add`` adds
the peer through the running node, which syncs with it at once).

    guard = AdminGuard(tokens=lambda: [token], names=lambda: {"mirror.example.org"})
    app[ADMIN] = guard
    app.router.add_post("/api/v1/peers", admin_only(post_peers))
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import secrets
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from mirror.durable import create_private_file, read_private_file, write_atomically
from mirror.errors import ConfigError
from mirror.home import Home
from mirror.node.http import Handler, Problem, bad_request

TOKEN_FILE = "admin.token"
API_FILE = "node.api"
CALL_TIMEOUT = 30.0


# -- the token and the running node's address ----------------------------------------------------

def admin_token(home: Home) -> str:
    """The home's administrative token, created on first use (mode 0600); ``ConfigError`` when the
    file is readable by others or unreadable."""
    path = home.path / TOKEN_FILE
    if not path.exists():
        try:
            create_private_file(path, (secrets.token_urlsafe(32) + "\n").encode("ascii"))
        except OSError as exc:
            raise ConfigError(f"cannot create the admin token {path}: {exc.strerror or exc}") from exc
    text = read_private_file(path, "admin token", hint=f"chmod 600 {path}, or delete it (a new one is "
                                                        "made; restart the node) if others could read it")
    token = text.decode("ascii", "replace").strip()
    if len(token) < 16:
        raise ConfigError(f"admin token {path} is too short", hint="delete it: a new one is made on next use")
    return token


def accepted_tokens(home: Home) -> list[str]:
    """The tokens an administrative call may carry: the home's, and ``node.admin_token`` if set."""
    extra = str(home.settings.node.admin_token).strip()
    return [admin_token(home), *([extra] if extra else [])]


def write_api_file(home: Home, url: str) -> None:
    """Say where the node serving on HOME listens (read by the CLI); replaced atomically."""
    data = (url + "\n").encode("utf-8")
    write_atomically(home.path / API_FILE, lambda fh: fh.write(data))


def remove_api_file(home: Home, url: str) -> None:
    """Remove ``node.api`` if it still names URL (another node may have started since)."""
    if running_node(home) == url:
        (home.path / API_FILE).unlink(missing_ok=True)


def running_node(home: Home) -> str | None:
    """The URL in HOME's ``node.api``, if a node wrote one (it may have died since)."""
    try:
        text = (home.path / API_FILE).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if text.startswith(("http://", "https://")) and len(text) < 300 else None


async def admin_call(home: Home, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], str] | None:
    """POST BODY to PATH of the node serving on HOME, with the home's token; (status, JSON answer,
    the node's URL), or None when no node answers there (none serves, or it died without removing
    ``node.api``)."""
    url = await asyncio.to_thread(running_node, home)
    if url is None:
        return None
    headers = {"Authorization": f"Bearer {await asyncio.to_thread(admin_token, home)}"}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CALL_TIMEOUT),
                                         trust_env=False) as session, \
                session.post(url + path, json=body, headers=headers) as resp:
            answer = await resp.json(content_type=None)
            return resp.status, answer if isinstance(answer, dict) else {}, url
    except (aiohttp.ClientConnectionError, TimeoutError):
        return None
    except (aiohttp.ClientError, ValueError):
        return 502, {"error": {"message": f"the node at {url} gave no JSON answer"}}, url


# -- the guard -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class AdminGuard:
    """Checks of an administrative request (the module docstring): ``tokens`` accepted, ``names``
    the host names the node answers to (IP addresses and ``localhost`` always pass)."""

    tokens: Callable[[], Sequence[str]]
    names: Callable[[], Collection[str]]

    def check(self, request: web.Request) -> None:
        """Raise ``Problem`` unless REQUEST may act on the node."""
        if "Origin" in request.headers:
            raise bad_request("administrative calls are not taken from web pages (the request "
                              "carries an Origin)", 403, "forbidden")
        if not self._our_host(request.headers.get("Host", "")):
            raise bad_request("administrative calls must name this node in Host", 403, "forbidden")
        given = request.headers.get("Authorization", "").encode()
        if not any(t and hmac.compare_digest(given, f"Bearer {t}".encode()) for t in self.tokens()):
            raise bad_request("administrative calls need the node's admin token (HOME/admin.token) "
                              "as Authorization: Bearer", 403, "forbidden")
        if request.content_type != "application/json":
            raise Problem(415, "administrative calls take a JSON body (Content-Type: application/json)")

    def _our_host(self, host: str) -> bool:
        name = _host_name(host)
        if not name:
            return False
        if name == "localhost" or name in self.names():
            return True
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True


def _host_name(host: str) -> str:
    """The name in a Host header (port, brackets and a final dot dropped), lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else ""
    return host.rsplit(":", 1)[0].rstrip(".") if host.count(":") <= 1 else ""


ADMIN: web.AppKey[AdminGuard] = web.AppKey("openmirror_admin", AdminGuard)


def admin_only(handler: Handler) -> Handler:
    """HANDLER, answering only requests the app's ``AdminGuard`` lets through."""

    async def checked(request: web.Request) -> web.StreamResponse:
        request.app[ADMIN].check(request)
        return await handler(request)

    checked.__name__ = getattr(handler, "__name__", "admin_handler")
    checked.__doc__ = handler.__doc__
    return checked


def names_of(*urls: str) -> frozenset[str]:
    """The host names (not IP addresses) in URLS or ``HOST:PORT`` texts."""
    found = set()
    for url in urls:
        text = url.split("://", 1)[-1].split("/", 1)[0]
        name = _host_name(text)
        if name:
            found.add(name)
    return frozenset(found)


__all__ = ["ADMIN", "API_FILE", "TOKEN_FILE", "AdminGuard", "accepted_tokens", "admin_call", "admin_only",
           "admin_token", "names_of", "remove_api_file", "running_node", "write_api_file"]
