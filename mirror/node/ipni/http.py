"""The IPNI HTTP provider endpoints (ipni/specs ``IPNI_HTTP_PROVIDER.md``), served from the chain.

    GET /ipni/v1/ad/head    the SignedHead (DAG-JSON); 204 while the chain is empty (as go-libipni)
                            Cache-Control: no-cache, no-store, must-revalidate
    GET /ipni/v1/ad/{cid}   the exact bytes of an advertisement or entry chunk whose CID is asked
                            (the indexer hashes the body against it); immutable; 404 when unknown,
                            400 for what is not a CID

    ipni_routes(app, publisher)
"""

from __future__ import annotations

from aiohttp import web

from mirror.errors import InvalidCID
from mirror.node.ipni.dagjson import DAG_JSON
from mirror.node.ipni.publisher import IpniPublisher
from mirror.store.cid import CID

PUBLISHER = web.AppKey("openmirror_ipni", IpniPublisher)
JSON_TYPE = "application/json"
IMMUTABLE = "public, max-age=29030400, immutable"
MAX_CID_TEXT = 128


def ipni_routes(app: web.Application, publisher: IpniPublisher) -> None:
    """Register ``GET /ipni/v1/ad/head`` and ``GET /ipni/v1/ad/{cid}`` serving PUBLISHER's chain."""
    app[PUBLISHER] = publisher
    app.router.add_get("/ipni/v1/ad/head", get_ad_head)
    app.router.add_get("/ipni/v1/ad/{cid}", get_block)


async def get_ad_head(request: web.Request) -> web.Response:
    head = await request.app[PUBLISHER].head()
    headers = {"Cache-Control": "no-cache, no-store, must-revalidate"}
    if head is None:
        return web.Response(status=204, headers=headers)
    return web.Response(body=head.signed, headers={**headers, "Content-Type": JSON_TYPE})


async def get_block(request: web.Request) -> web.Response:
    text = request.match_info["cid"]
    try:
        if len(text) > MAX_CID_TEXT:
            raise InvalidCID("too long")
        cid = CID.decode(text)
    except InvalidCID:
        return web.Response(status=400, text="not a CID\n")
    data = await request.app[PUBLISHER].block(cid) if cid.codec == DAG_JSON else None
    if data is None:
        return web.Response(status=404, text="not in this node's advertisement chain\n")
    return web.Response(body=data, headers={"Content-Type": JSON_TYPE, "Cache-Control": IMMUTABLE})
