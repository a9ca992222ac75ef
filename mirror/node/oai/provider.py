"""The node's OAI-PMH 2.0 data provider at ``/oai`` (GET, and POST with a form body).

    oai_routes(app, site)   # registered by mirror.node.web.routes.web_routes

Verbs: Identify, ListMetadataFormats, ListSets (sets are collections), ListIdentifiers,
ListRecords and GetRecord, in ``oai_dc`` only. Records are the index's documents, retracted ones
included as deleted records (``deletedRecord`` is ``persistent``); datestamps are the documents'
update times in the index, at second granularity, listed in (update time, id) order through the
indexes of migration 0003 (``indexer.listing``), so a page costs the same at any depth.

Lists are paged by ``node.oai_page_size`` with stateless signed resumption tokens
(``mirror.node.oai.codec``) carrying ``completeListSize`` and ``cursor``. Identify names the node
(``node.name``), its base URL ``{node.url}/oai`` and ``node.admin_email`` (else ``fetch.contact``
when it is an address, else ``unknown@invalid``).

Errors follow the protocol: badVerb, badArgument (unknown, repeated, missing or malformed
arguments, a resumption token with other arguments, from/until of different granularities or in
the wrong order), badResumptionToken, cannotDisseminateFormat, idDoesNotExist, noRecordsMatch (also
for a set that does not exist) and noSetHierarchy (a node without collections).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from multidict import MultiMapping

from indexer import listing
from indexer.listing import DateRange
from mirror.node.http import read_form
from mirror.node.oai import xml
from mirror.node.web.site import Site
from mirror.node.oai.codec import (MAX_TOKEN, BadDate, BadToken, ListState, TokenCodec, bounds,
                                   datestamp, make_identifier, parse_identifier, set_collection,
                                   set_spec)
from indexer.clock import index_time

PREFIX = "oai_dc"
MAX_ARG = 4096                       # characters of one argument
MAX_PAGE_SIZE = 1000
_LIST = frozenset({"from", "until", "set", "resumptionToken"})
_UNECHOED = ("badVerb", "badArgument")   # the protocol asks for a bare <request> after these
VERBS: dict[str, tuple[frozenset[str], frozenset[str]]] = {   # verb: (required, optional)
    "Identify": (frozenset(), frozenset()),
    "ListMetadataFormats": (frozenset(), frozenset({"identifier"})),
    "ListSets": (frozenset(), frozenset({"resumptionToken"})),
    "GetRecord": (frozenset({"identifier", "metadataPrefix"}), frozenset()),
    "ListIdentifiers": (frozenset({"metadataPrefix"}), _LIST),
    "ListRecords": (frozenset({"metadataPrefix"}), _LIST),
}


class OAIError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Provider:
    site: Site
    codec: TokenCodec

    @property
    def host(self) -> str:
        return urlsplit(self.site.url()).hostname or "localhost"

    @property
    def base_url(self) -> str:
        return f"{self.site.url()}/oai"

    @property
    def page_size(self) -> int:
        return max(1, min(MAX_PAGE_SIZE, int(self.site.settings.node.oai_page_size)))

    async def handle(self, request: web.Request) -> web.Response:
        given = await read_form(request) if request.method == "POST" else request.query
        response_date = index_time()[:19] + "Z"
        try:
            verb, args = check_arguments(given)
        except OAIError as exc:
            root = xml.error(xml.envelope(response_date, self.base_url, None), exc.code, str(exc))
            return _response(root)
        root = xml.envelope(response_date, self.base_url, {"verb": verb, **args})
        try:
            await getattr(self, verb)(root, args, response_date)
        except OAIError as exc:
            echoed = None if exc.code in _UNECHOED else {"verb": verb, **args}
            root = xml.error(xml.envelope(response_date, self.base_url, echoed), exc.code, str(exc))
        return _response(root)

    # -- verbs -----------------------------------------------------------------------------------

    async def Identify(self, root: Any, args: dict[str, str], response_date: str) -> None:
        async with self.site.index.read() as conn:
            earliest = await listing.earliest_update(conn)
        settings = self.site.settings
        contact = settings.fetch.contact
        email = settings.node.admin_email or (contact if "@" in contact and " " not in contact
                                              else "unknown@invalid")
        xml.identify(root, name=self.site.name, base_url=self.base_url, admin_email=email,
                     earliest=datestamp(earliest) if earliest else response_date, host=self.host,
                     sample=make_identifier(self.host, "collection", "record-1"))

    async def ListMetadataFormats(self, root: Any, args: dict[str, str], _: str) -> None:
        if "identifier" in args:
            await self._document(args["identifier"])
        xml.metadata_formats(root)

    async def ListSets(self, root: Any, args: dict[str, str], _: str) -> None:
        if "resumptionToken" in args:
            raise OAIError("badResumptionToken", "this node never issues ListSets tokens")
        async with self.site.index.read() as conn:
            names = await listing.collection_names(conn)
        if not names:
            raise OAIError("noSetHierarchy", "this node has no collections yet")
        xml.list_sets(root, ((set_spec(name), name) for name in names))

    async def GetRecord(self, root: Any, args: dict[str, str], _: str) -> None:
        doc = await self._document(args["identifier"])
        _check_prefix(args["metadataPrefix"])
        xml.record(xml.sub(root, "GetRecord"), doc, args["identifier"],
                   datestamp(doc.updated_at), set_spec(doc.collection), self.site.url())

    async def ListIdentifiers(self, root: Any, args: dict[str, str], _: str) -> None:
        await self._list(root, "ListIdentifiers", args)

    async def ListRecords(self, root: Any, args: dict[str, str], _: str) -> None:
        await self._list(root, "ListRecords", args)

    # -- helpers ---------------------------------------------------------------------------------

    async def _document(self, identifier: str) -> Any:
        key = parse_identifier(self.host, identifier)
        doc = await self.site.index.get_document(*key) if key else None
        if doc is None or doc.private:            # a private document is no record of this node
            raise OAIError("idDoesNotExist", f"no record has the identifier {identifier!r}")
        return doc

    async def _list(self, root: Any, verb: str, args: dict[str, str]) -> None:
        state = await self._list_state(verb, args)
        after = (state.after_time, state.after_id) if state.after_time else None
        where = DateRange(state.since, state.until, state.collection, after)
        async with self.site.index.read() as conn:
            docs = await listing.by_update_time(conn, where, self.page_size + 1)
        page, more = docs[:self.page_size], len(docs) > self.page_size
        if not page:
            raise OAIError("noRecordsMatch", "no records are left in this list")
        element = xml.sub(root, verb)
        for doc in page:
            identifier = make_identifier(self.host, doc.collection, doc.source_id)
            stamp, spec = datestamp(doc.updated_at), set_spec(doc.collection)
            if verb == "ListRecords":
                xml.record(element, doc, identifier, stamp, spec, self.site.url())
            else:
                xml.header(element, identifier, stamp, spec, doc.deleted)
        sent = state.cursor + len(page)
        total = max(state.total, sent + (1 if more else 0))
        if more:
            token = self.codec.encode(replace(state, after_time=page[-1].updated_at,
                                              after_id=page[-1].id, cursor=sent, total=total))
            xml.resumption_token(element, token, total, state.cursor)
        elif state.cursor:
            xml.resumption_token(element, None, total, state.cursor)

    async def _list_state(self, verb: str, args: dict[str, str]) -> ListState:
        """The list's state: read from the token, or fixed now from the arguments."""
        if "resumptionToken" in args:
            try:
                state = self.codec.decode(args["resumptionToken"])
            except BadToken as exc:
                raise OAIError("badResumptionToken", str(exc)) from None
            if state.verb != verb:
                raise OAIError("badResumptionToken", f"this token continues a {state.verb} list")
            return state
        _check_prefix(args["metadataPrefix"])
        try:
            since, until = bounds(args.get("from"), args.get("until"))
        except BadDate as exc:
            raise OAIError("badArgument", str(exc)) from None
        frozen = index_time()
        until = min(until, frozen) if until else frozen
        async with self.site.index.read() as conn:
            collection = await self._set(conn, args.get("set"))
            where = DateRange(since, until, collection)
            total = await listing.count_by_update_time(conn, where)
        if not total:
            raise OAIError("noRecordsMatch", "no records match these arguments")
        return ListState(verb, args["metadataPrefix"], collection, since, until, "", 0, 0, total)

    async def _set(self, conn: Any, spec: str | None) -> str | None:
        if spec is None:
            return None
        if not await listing.collection_names(conn):
            raise OAIError("noSetHierarchy", "this node has no collections yet")
        name = set_collection(spec)
        if name is None or not await listing.has_collection(conn, name):
            raise OAIError("noRecordsMatch", f"there is no set {spec!r}")
        return name


def check_arguments(given: MultiMapping[Any]) -> tuple[str, dict[str, str]]:
    """The verb and its arguments; ``OAIError`` badVerb or badArgument when they are not legal."""
    verbs = given.getall("verb", [])
    if len(verbs) != 1 or not isinstance(verbs[0], str) or verbs[0] not in VERBS:
        shown = ", ".join(repr(str(v)[:40]) for v in verbs) or "none"
        raise OAIError("badVerb", f"illegal or repeated verb ({shown}); use one of "
                                  + ", ".join(VERBS))
    verb = verbs[0]
    required, optional = VERBS[verb]
    args: dict[str, str] = {}
    for key in set(given.keys()) - {"verb"}:
        values = given.getall(key)
        if key not in required | optional:
            raise OAIError("badArgument", f"{verb} takes no argument {key[:40]!r}")
        # An overlong token is refused by the codec (badResumptionToken), not here.
        limit = 4 * MAX_TOKEN if key == "resumptionToken" else MAX_ARG
        if len(values) != 1 or not isinstance(values[0], str) or len(values[0]) > limit:
            raise OAIError("badArgument", f"the argument {key} is repeated, too long or not text")
        args[key] = values[0]
    if "resumptionToken" in args and len(args) > 1:
        raise OAIError("badArgument", "resumptionToken is an exclusive argument")
    missing = required - set(args) if "resumptionToken" not in args else set()
    if missing:
        raise OAIError("badArgument", f"{verb} needs " + ", ".join(sorted(missing)))
    return verb, args


def _check_prefix(prefix: str) -> None:
    if prefix != PREFIX:
        raise OAIError("cannotDisseminateFormat", f"this node offers only {PREFIX}, not "
                                                  f"{prefix[:40]!r}")


def _response(root: Any) -> web.Response:
    return web.Response(body=xml.serialize(root), content_type="text/xml", charset="utf-8",
                        headers={"X-Content-Type-Options": "nosniff"})


OAI_KEY: web.AppKey[Provider] = web.AppKey("openmirror_oai", Provider)


def oai_routes(app: web.Application, site: Site) -> None:
    """Register ``/oai`` (GET, HEAD, POST)."""
    provider = Provider(site, TokenCodec.for_identity(site.identity))
    app[OAI_KEY] = provider
    app.router.add_get("/oai", provider.handle)
    app.router.add_post("/oai", provider.handle)
