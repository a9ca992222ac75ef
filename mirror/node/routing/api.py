"""The Delegated Routing V1 HTTP API (ipfs/specs ``routing/http-routing-v1.md``): who provides a CID.

Standard IPFS clients (Kubo's ``Routing.DelegatedRouters``, Helia, verified-fetch, the Service
Worker gateway) ask a router which peers hold a CID and how to reach them. Every node answers
for what it knows, as ``peer`` records naming the HTTP(S) trustless gateway of each holder::

    GET /routing/v1/providers/{cid}     {"Providers": [{"Schema": "peer", "ID": "12D3KooW…",
                                          "Addrs": ["/dns/…/tcp/443/https"],
                                          "Protocols": ["transport-ipfs-gateway-http"]}]}
    GET /routing/v1/peers/{peer-id}     {"Peers": [...]} (the same records, by peer)

``Accept: application/x-ndjson`` gives one record per line instead. Statuses as the spec has
them: 200 with zero or more records (it says a server SHOULD NOT answer 404 for "none", and
clients read 404 as an empty 200), 400 for a path that is not a CID or peer ID, or a bad filter,
and an unknown path under ``/routing/v1/``, 501 for the parts of the API not offered (IPNS, PUT).
``?filter-addrs=`` and ``?filter-protocols=`` (IPIP-484) filter as the spec says. Answers carry
``Cache-Control`` (``max-age`` 300 s with results, 15 s without; ``stale-while-revalidate`` and
``stale-if-error`` the router's ``max_ttl``), ``Vary: Accept``, ``Last-Modified`` and CORS
(``*``, with OPTIONS preflights).

    routing_routes(app, providers, peers)   providers(cid) and peers(peer ID multihash) return
                                            ProviderRecords; the answer keeps at most 100 (JSON)
                                            or 1,000 (NDJSON)
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from email.utils import formatdate

from aiohttp import web

from mirror.errors import InvalidCID, UsageError
from mirror.node.routing.multiaddr import protocol_names, url_to_multiaddr
from mirror.node.routing.peerid import parse_peer_id, peer_id
from mirror.store.cid import CID

GATEWAY_PROTOCOL = "transport-ipfs-gateway-http"
JSON_TYPE = "application/json"
NDJSON_TYPE = "application/x-ndjson"
MAX_JSON_RECORDS = 100        # the spec: JSON answers SHOULD be limited to 100
MAX_NDJSON_RECORDS = 1000
MAX_PATH_VALUE = 256          # characters of a CID or peer ID in the path
MAX_FILTER = 1024             # characters of one filter parameter
MAX_FILTER_ITEMS = 32
MAX_FILTER_NAME = 63          # the spec: protocol names are at most 63 characters
TTL, EMPTY_TTL = 300, 15
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
        "Access-Control-Allow-Headers": "Accept, Content-Type, User-Agent, X-Requested-With",
        "Access-Control-Max-Age": "86400"}


@dataclass(frozen=True)
class ProviderRecord:
    """A ``peer`` record: a peer ID, its multiaddrs and the transfer protocols it speaks."""

    peer_id: str
    addrs: tuple[str, ...]
    protocols: tuple[str, ...] = (GATEWAY_PROTOCOL,)

    def to_json(self) -> dict[str, object]:
        return {"Schema": "peer", "ID": self.peer_id, "Addrs": list(self.addrs),
                "Protocols": list(self.protocols)}


def gateway_provider(public_key: bytes, urls: Sequence[str]) -> ProviderRecord:
    """The record of an HTTP trustless gateway with Ed25519 key PUBLIC_KEY at URLS.

    ``ConfigError`` when a URL cannot be a provider address (see ``url_to_multiaddr``).
    """
    return ProviderRecord(peer_id(public_key), tuple(url_to_multiaddr(u) for u in urls))


ProvidersFn = Callable[[CID], Awaitable[Sequence[ProviderRecord]]]
PeersFn = Callable[[bytes], Awaitable[Sequence[ProviderRecord]]]


@dataclass(frozen=True)
class Router:
    providers: ProvidersFn
    peers: PeersFn
    max_ttl: int


ROUTER = web.AppKey("openmirror_routing", Router)


class BadRouting(Exception):
    """A request the router refuses (answered with ``status`` and a one-line text body)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def routing_routes(app: web.Application, providers: ProvidersFn, peers: PeersFn, *,
                   max_ttl: int = 600) -> None:
    """Register ``/routing/v1/providers/{cid}``, ``/routing/v1/peers/{peer-id}`` and the rest of
    ``/routing/v1/`` on APP. ``providers(cid)`` names who holds a CID, ``peers(multihash)`` how to
    reach a peer; MAX_TTL is how long (seconds) a holder stays known without news of it."""
    app[ROUTER] = Router(providers, peers, max_ttl)
    app.router.add_get("/routing/v1/providers/{cid}", get_providers)
    app.router.add_get("/routing/v1/peers/{peer}", get_routing_peers)
    app.router.add_route("OPTIONS", "/routing/v1/{tail:.*}", preflight)
    app.router.add_route("*", "/routing/v1/{tail:.*}", not_offered)


async def get_providers(request: web.Request) -> web.StreamResponse:
    try:
        cid = _parse_cid(request.match_info["cid"])
        found = await request.app[ROUTER].providers(cid)
        return _answer(request, "Providers", found)
    except BadRouting as exc:
        return _problem(exc)


async def get_routing_peers(request: web.Request) -> web.StreamResponse:
    try:
        text = request.match_info["peer"]
        try:
            multihash = parse_peer_id(text)
        except UsageError:
            raise BadRouting(400, f"not a peer ID: {text[:80]!r}") from None
        found = await request.app[ROUTER].peers(multihash)
        return _answer(request, "Peers", found)
    except BadRouting as exc:
        return _problem(exc)


async def preflight(request: web.Request) -> web.Response:
    return web.Response(status=204, headers=CORS)


async def not_offered(request: web.Request) -> web.Response:
    tail = request.match_info["tail"]
    if tail.split("/", 1)[0] in ("providers", "peers", "ipns", "dht"):
        return _problem(BadRouting(501, f"{request.method} /routing/v1/{tail.split('/', 1)[0]} "
                                        "is not offered by this router"))
    return _problem(BadRouting(400, "unknown path"))


def _parse_cid(text: str) -> CID:
    if len(text) > MAX_PATH_VALUE:
        raise BadRouting(400, "not a CID: too long")
    try:
        return CID.decode(text)
    except InvalidCID as exc:
        raise BadRouting(400, str(exc)) from None


def _answer(request: web.Request, key: str, found: Sequence[ProviderRecord]) -> web.Response:
    records = _filtered(request, found)
    ndjson = _wants_ndjson(request.headers.get("Accept", ""))
    records = records[:MAX_NDJSON_RECORDS if ndjson else MAX_JSON_RECORDS]
    ttl = TTL if records else EMPTY_TTL
    max_ttl = request.app[ROUTER].max_ttl
    headers = {**CORS, "Vary": "Accept", "Last-Modified": formatdate(usegmt=True),
               "Cache-Control": f"public, max-age={ttl}, stale-while-revalidate={max_ttl}, "
                                f"stale-if-error={max_ttl}"}
    if ndjson:
        lines = "".join(json.dumps(r.to_json(), separators=(",", ":")) + "\n" for r in records)
        return web.Response(body=lines.encode(), headers={**headers, "Content-Type": NDJSON_TYPE})
    body = json.dumps({key: [r.to_json() for r in records]}, separators=(",", ":"))
    return web.Response(body=body.encode(), headers={**headers, "Content-Type": JSON_TYPE})


def _problem(exc: BadRouting) -> web.Response:
    return web.Response(status=exc.status, text=str(exc) + "\n", headers=CORS)


def _wants_ndjson(accept: str) -> bool:
    """True when ACCEPT asks for NDJSON at least as much as for JSON (never without asking)."""
    quality: dict[str, float] = {}
    for item in accept[:1024].split(",")[:32]:
        media, *params = (part.strip().lower() for part in item.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        quality[media] = max(q, quality.get(media, 0.0))
    wanted = quality.get(NDJSON_TYPE, 0.0)
    return wanted > 0 and wanted >= max(quality.get(JSON_TYPE, 0.0), quality.get("*/*", 0.0))


# -- IPIP-484 filters ------------------------------------------------------------------------

def _filter_names(request: web.Request, name: str) -> list[str] | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    if len(raw) > MAX_FILTER:
        raise BadRouting(400, f"{name} is too long")
    names = [n.strip().lower() for n in raw.split(",") if n.strip()]
    if len(names) > MAX_FILTER_ITEMS or any(len(n) > MAX_FILTER_NAME for n in names):
        raise BadRouting(400, f"{name} names too many or too long protocols")
    return names


def _filtered(request: web.Request, found: Sequence[ProviderRecord]) -> list[ProviderRecord]:
    by_protocol = _filter_names(request, "filter-protocols")
    by_addr = _filter_names(request, "filter-addrs")
    out = []
    for record in found[:MAX_NDJSON_RECORDS * 4]:
        if by_protocol is not None and not _protocols_pass(record.protocols, by_protocol):
            continue
        if by_addr is not None:
            addrs = _addrs_passing(record.addrs, by_addr)
            if addrs is None:
                continue
            record = ProviderRecord(record.peer_id, addrs, record.protocols)
        out.append(record)
    return out


def _protocols_pass(protocols: tuple[str, ...], wanted: list[str]) -> bool:
    if not protocols:
        return "unknown" in wanted
    return any(p.lower() in wanted for p in protocols)


def _addrs_passing(addrs: tuple[str, ...], wanted: list[str]) -> tuple[str, ...] | None:
    """The addresses that pass FILTER-ADDRS, or None when the record is to be left out."""
    if not addrs:
        return () if "unknown" in wanted else None
    negative = {w[1:] for w in wanted if w.startswith("!")}
    positive = {w for w in wanted if not w.startswith("!") and w != "unknown"}
    kept = []
    for addr in addrs:
        try:
            names = set(protocol_names(addr))
        except ValueError:
            continue
        if names & negative or (positive and not names & positive):
            continue
        kept.append(addr)
    return tuple(kept) if kept else None
