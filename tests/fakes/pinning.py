"""A fake IPFS Pinning Service (aiohttp, 127.0.0.1, port 0) for tests.

It follows the OpenAPI spec ipfs/pinning-services-api-spec v1.0.0 (``ipfs-pinning-service.yaml``,
frozen at commit bbfaa58; ipfs-digest §9) for everything it serves:

* every request needs ``Authorization: Bearer <token>``; without it or with another token the
  answer is **401** with a ``Failure`` body ``{"error": {"reason": "UNAUTHORIZED", "details": …}}``;
  every error answer is a ``Failure`` (reasons ``BAD_REQUEST``, ``NOT_FOUND``,
  ``INSUFFICIENT_FUNDS``, ``INTERNAL_SERVER_ERROR``);
* ``POST /pins`` takes a ``Pin`` (``cid`` required; ``name`` ≤ 255 chars; ``origins`` ≤ 20 unique
  strings; ``meta`` an object of strings) and answers **202** with a ``PinStatus``: an opaque unique
  ``requestid``, ``status`` ``queued``, ``created`` (RFC 3339 with milliseconds, unique, so it can
  paginate), the ``pin``, ``delegates`` (1–20 multiaddrs) and ``info``; a pin becomes ``pinned``
  once ``pin_delay`` seconds have passed (``failed`` for CIDs in ``failing``);
* ``GET /pins`` answers ``PinResults`` ``{"count", "results"}``, newest first, with the filters
  ``cid`` (≤ 10, comma-separated), ``name`` (≤ 255) with ``match`` = exact (default) | iexact |
  partial | ipartial, ``status`` (comma-separated; **pinned only when absent**), ``before`` and
  ``after`` (RFC 3339), ``limit`` (1–1000, default 10) and ``meta`` (a URL-encoded JSON object all of
  whose pairs a pin's meta must hold); ``count`` counts every match, not just the page; a malformed
  parameter is **400**;
* ``GET /pins/{requestid}`` **200** ``PinStatus``; ``POST /pins/{requestid}`` (replace) removes the
  old pin and answers **202** with a new ``PinStatus`` (a new ``requestid``); ``DELETE
  /pins/{requestid}`` **202** with no body; an unknown ``requestid`` is **404**.

Test switches: ``funds_left`` (pins accepted before POSTs answer 409), ``fail_next`` (the next N
requests answer 500), ``requests`` (the request log of ``FakeServer``).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from aiohttp import web

from mirror.errors import InvalidCID
from mirror.store.cid import CID
from tests.servers.local_app import FakeServer

STATUSES = ("queued", "pinning", "pinned", "failed")
MATCHES = ("exact", "iexact", "partial", "ipartial")
DELEGATES = ["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWFakePinningServiceDelegate"]


@dataclass
class StoredPin:
    requestid: str
    created: datetime
    pin: dict[str, Any]
    settles_at: float
    fails: bool = False
    info: dict[str, str] = field(default_factory=dict)

    def status(self) -> str:
        if time.monotonic() < self.settles_at:
            return "queued"
        return "failed" if self.fails else "pinned"

    def to_json(self) -> dict[str, Any]:
        return {"requestid": self.requestid, "status": self.status(), "created": rfc3339(self.created),
                "pin": self.pin, "delegates": DELEGATES, "info": self.info}


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("RFC 3339 needs a time zone")
    return moment


class Failure(Exception):
    def __init__(self, status: int, reason: str, details: str) -> None:
        super().__init__(details)
        self.status, self.reason, self.details = status, reason, details


class FakePinningService(FakeServer):
    def __init__(self, token: str = "secret-token", *, pin_delay: float = 0.0) -> None:
        super().__init__()
        self.token, self.pin_delay = token, pin_delay
        self.pins: dict[str, StoredPin] = {}
        self.failing: set[str] = set()
        self.refused: set[str] = set()          # CIDs add_pin answers 400 for
        self.funds_left: int | None = None
        self.fail_next = 0
        self._last_created: datetime | None = None
        self.app.middlewares.append(self._guard)
        self.app.router.add_get("/pins", self.list_pins)
        self.app.router.add_post("/pins", self.add_pin)
        self.app.router.add_get("/pins/{requestid}", self.get_pin)
        self.app.router.add_post("/pins/{requestid}", self.replace_pin)
        self.app.router.add_delete("/pins/{requestid}", self.delete_pin)

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            if request.headers.get("Authorization") != f"Bearer {self.token}":
                raise Failure(401, "UNAUTHORIZED", "Access token is missing or invalid")
            if self.fail_next:
                self.fail_next -= 1
                raise Failure(500, "INTERNAL_SERVER_ERROR", "Something broke on our side")
            return await handler(request)
        except Failure as failure:
            return web.json_response({"error": {"reason": failure.reason, "details": failure.details}},
                                     status=failure.status)

    # -- handlers ----------------------------------------------------------------------------

    async def list_pins(self, request: web.Request) -> web.Response:
        matches = [p for p in self.pins.values() if _keep(p, _filters(request.query))]
        matches.sort(key=lambda p: p.created, reverse=True)
        limit = _int(request.query.get("limit", "10"), 1, 1000, "limit")
        return web.json_response({"count": len(matches), "results": [p.to_json() for p in matches[:limit]]})

    async def add_pin(self, request: web.Request) -> web.Response:
        pin = _pin(await _body(request))
        if pin["cid"] in self.refused:
            raise _bad(f"this service does not take {pin['cid']}")
        if self.funds_left is not None:
            if self.funds_left <= 0:
                raise Failure(409, "INSUFFICIENT_FUNDS", "Unable to process request due to the lack of funds")
            self.funds_left -= 1
        return web.json_response(self._store(pin).to_json(), status=202)

    async def get_pin(self, request: web.Request) -> web.Response:
        return web.json_response(self._find(request).to_json())

    async def replace_pin(self, request: web.Request) -> web.Response:
        old = self._find(request)
        pin = _pin(await _body(request))
        del self.pins[old.requestid]
        return web.json_response(self._store(pin).to_json(), status=202)

    async def delete_pin(self, request: web.Request) -> web.Response:
        del self.pins[self._find(request).requestid]
        return web.Response(status=202)

    # -- state -------------------------------------------------------------------------------

    def _store(self, pin: dict[str, Any]) -> StoredPin:
        now = datetime.now(timezone.utc)
        created = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if self._last_created is not None and created <= self._last_created:
            created = self._last_created + timedelta(milliseconds=1)     # unique, for pagination
        self._last_created = created
        stored = StoredPin(uuid.uuid4().hex, created, pin, time.monotonic() + self.pin_delay,
                           fails=pin["cid"] in self.failing)
        self.pins[stored.requestid] = stored
        return stored

    def _find(self, request: web.Request) -> StoredPin:
        found = self.pins.get(request.match_info["requestid"])
        if found is None:
            raise Failure(404, "NOT_FOUND", "The specified resource was not found")
        return found

    def by_cid(self, cid: str) -> list[StoredPin]:
        return [p for p in self.pins.values() if p.pin["cid"] == cid]


# -- parameters and bodies -----------------------------------------------------------------------

def _bad(details: str) -> Failure:
    return Failure(400, "BAD_REQUEST", details)


def _int(text: str, lo: int, hi: int, name: str) -> int:
    if not text.isdigit() or not lo <= int(text) <= hi:
        raise _bad(f"{name} must be an integer from {lo} to {hi}")
    return int(text)


def _filters(query: Any) -> dict[str, Any]:
    cids = [c for c in query.get("cid", "").split(",") if c]
    if len(cids) > 10:
        raise _bad("at most 10 CIDs per request")
    statuses = [s for s in query.get("status", "pinned").split(",") if s]
    match = query.get("match", "exact")
    if any(s not in STATUSES for s in statuses) or match not in MATCHES:
        raise _bad("unknown status or match")
    name = query.get("name")
    if name is not None and len(name) > 255:
        raise _bad("name is longer than 255 characters")
    try:
        before = parse_time(query["before"]) if "before" in query else None
        after = parse_time(query["after"]) if "after" in query else None
        meta = json.loads(query["meta"]) if "meta" in query else {}
    except ValueError:
        raise _bad("before, after or meta is malformed") from None
    if not isinstance(meta, dict):
        raise _bad("meta must be a JSON object")
    return {"cids": set(cids), "statuses": set(statuses), "name": name, "match": match,
            "before": before, "after": after, "meta": meta}


def _keep(pin: StoredPin, f: dict[str, Any]) -> bool:
    if f["cids"] and pin.pin["cid"] not in f["cids"]:
        return False
    if pin.status() not in f["statuses"]:
        return False
    if f["before"] is not None and not pin.created < f["before"]:
        return False
    if f["after"] is not None and not pin.created > f["after"]:
        return False
    meta = pin.pin.get("meta") or {}
    if any(meta.get(k) != v for k, v in f["meta"].items()):
        return False
    return f["name"] is None or _name_matches(pin.pin.get("name") or "", f["name"], f["match"])


def _name_matches(name: str, wanted: str, match: str) -> bool:
    if match.startswith("i"):
        name, wanted = name.lower(), wanted.lower()
    return wanted in name if match.endswith("partial") else name == wanted


async def _body(request: web.Request) -> Any:
    try:
        return json.loads(await request.read())
    except ValueError:
        raise _bad("the body is not JSON") from None


def _pin(obj: Any) -> dict[str, Any]:
    if not isinstance(obj, dict) or not isinstance(obj.get("cid"), str):
        raise _bad("a Pin needs a cid")
    try:
        CID.decode(obj["cid"])
    except InvalidCID:
        raise _bad(f"not a CID: {obj['cid'][:80]}") from None
    name, origins, meta = obj.get("name"), obj.get("origins", []), obj.get("meta", {})
    if name is not None and (not isinstance(name, str) or len(name) > 255):
        raise _bad("name must be a string of at most 255 characters")
    if not isinstance(origins, list) or len(origins) > 20 or len(set(map(str, origins))) != len(origins) \
            or not all(isinstance(o, str) for o in origins):
        raise _bad("origins must be at most 20 unique multiaddrs")
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise _bad("meta must map strings to strings")
    return {k: v for k, v in (("cid", obj["cid"]), ("name", name), ("origins", origins), ("meta", meta))
            if v not in (None, [], {})}
