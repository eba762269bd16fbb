"""Declared routes and the one pipeline every request goes through.

A route is data (method, path, access, body and query models, replies). The
pipeline applies, in order: authentication (401), the role matrix (403), the
rate limit (429), the Idempotency-Key (400), body and query validation
(413/415/400/422), idempotent replay (409/422), then the handler. The OpenAPI
document is generated from the same declarations.

The request is read and validated before the budget is spent, so that a valid
idempotent request spends, claims its key and, when its route can tell already
(`foreseen`), gets its answer in one Redis call; an invalid one still spends
first, so 429 keeps its place before the request's own faults. A forbidden request
spends too, and a request without a valid token spends its IP address's budget:
refusing costs the caller as much as serving. Replies past the spend, 4xx
included, carry the RateLimit headers.

Budgets: the caller's (its token's `sub`, or its IP address without a token), and
for a visitor session also its IP address's (sessions are free to mint, addresses
are not). Tokens a product mints for its users spend only their own.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ValidationError

from common.text import storable
from common.tokens import Identity
from domain.errors import ErrorCode, Refused
from domain.nesting import nests_deeper_than
from domain.roles import Permission, allows
from domain.scope import Scope
from web.clientip import client_ip
from web.errors import ApiError, error_body, headers_of, status_of, with_headers
from web.idempotency import Foreseen, request_hash, valid_key
from web.identity import verify_token
from web.middlewares import REQUEST_ID
from web.ratelimit import Spend
from web.responses import Reply, TextReply, json_response
from web.state import ACCOUNTS, IDEMPOTENCY, LIMITER, SETTINGS

MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32
IDEMPOTENCY_CLAIM = web.RequestKey("idempotency_claim", tuple)
Access = Literal["public", "token"] | Permission


@dataclass
class Call:
    """One validated request, as a handler sees it."""

    request: web.Request
    identity: Identity | None
    body: Any = None
    query: Any = None
    public_subject: str | None = None
    """Who asks on a public route that has one (a manage link), for idempotency."""

    @property
    def subject(self) -> str:
        """Who asks: the token's `sub`, or a public route's own subject."""
        if self.identity is None:
            assert self.public_subject is not None
            return self.public_subject
        return self.identity.subject

    @property
    def scope(self) -> Scope:
        """The locations the caller may see and change (`domain/scope.py`)."""
        return self.identity.scope if self.identity is not None else Scope()


Handler = Callable[[Call], Awaitable[Reply | TextReply]]


@dataclass(frozen=True)
class Link:
    """An OpenAPI link: a value in this route's reply that another operation takes.

    `parameters` maps the target's parameter names to runtime expressions such as
    `$response.body#/booking/id`, so clients and stateful testers can follow them.
    """

    operation: str
    parameters: Mapping[str, str]
    description: str = ""


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    access: Access = "token"
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    responses: Mapping[int, type[BaseModel] | None] = field(default_factory=dict)
    idempotent: bool = False
    replies_persisted_by_handler: bool = False
    foreseen: Callable[[Call], Awaitable[Foreseen | None]] | None = None
    rate_limit: str | None = None
    extra_budgets: Callable[[Call], list[tuple[str, str]]] | None = None
    """(budget, caller) pairs a valid request spends besides its own (a login's email)."""
    tag: str = "platform"
    conflicts: tuple[ErrorCode, ...] = ()
    """The 409 codes of the route's own refusals (the pipeline adds the idempotency ones)."""
    links: Mapping[str, Link] = field(default_factory=dict)
    """Followed from every successful reply (see `Link`)."""
    public_subject: Callable[[web.Request], str] | None = None
    """On a public route: whose Idempotency-Keys a request uses (a manage link's own)."""
    credential: Callable[[web.Request], Awaitable[bool]] | None = None
    """A credential taken in place of a token, if the request carries one: whether it
    does (a calendar feed's `?token=`, for calendar apps that cannot send a header).
    A wrong one is the callable's own refusal."""
    every_location: bool = False
    """Only a caller of every location may call it (403 for a location-scoped one): it
    makes or reaches what belongs to no single location."""


def add_routes(app: web.Application, routes: list[Route]) -> None:
    """Every route, and HEAD beside each GET (RFC 9110 §9.3.2: the GET's reply, no body)."""
    for route in routes:
        handle = endpoint(route)
        app.router.add_route(route.method, route.path, handle)
        if route.method == "GET":
            app.router.add_route("HEAD", route.path, handle)


def endpoint(route: Route) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        limit_headers: dict[str, str] = {}
        try:
            identity = await _authenticate(request, route)
            spends = _spends(request, route, identity)
            forbidden = _forbidden(route, identity)
            if forbidden:
                limit_headers = await request.app[LIMITER].spend(spends)
                raise ApiError(ErrorCode.FORBIDDEN, forbidden)
            try:
                key = _idempotency_key(request, route)
                query = _parse_query(route, request)
                raw_body = await _read_json(request) if route.body else None
                subject = route.public_subject(request) if route.public_subject else None
                call = Call(request, identity, _validate(route.body, raw_body), query, subject)
                foreseen = await route.foreseen(call) if key and route.foreseen else None
            except Refused:
                limit_headers = await request.app[LIMITER].spend(spends)
                raise
            spends += _extra_spends(route, call)
            if key is None:
                limit_headers = await request.app[LIMITER].spend(spends)
                reply = await route.handler(call)
            else:
                limit_headers, reply = await _run_once(route, call, key, raw_body, foreseen, spends)
        except Refused as error:
            raise with_headers(error, limit_headers) from None
        if isinstance(reply, TextReply):
            return web.Response(
                status=reply.status,
                text=reply.text,
                content_type=reply.content_type,
                headers={**limit_headers, **reply.headers},
            )
        return json_response(reply.status, reply.body, {**limit_headers, **reply.headers})

    handle.__name__ = route.handler.__name__
    return handle


async def _authenticate(request: web.Request, route: Route) -> Identity | None:
    """The caller's identity (None on public routes), or 401 after spending its IP
    address's budget."""
    if route.access == "public":
        return None
    if route.credential is not None and await route.credential(request):
        return None
    settings = request.app[SETTINGS]
    try:
        identity = verify_token(
            request.headers.get("Authorization"), settings.jwt_secret, settings.jwt_issuer
        )
        identity = await request.app[ACCOUNTS].check(identity)
    except Refused as error:
        headers = await request.app[LIMITER].spend(_ip_ceiling(request, route))
        raise with_headers(error, headers) from None
    return identity


def _forbidden(route: Route, identity: Identity | None) -> str | None:
    """Why the role matrix or the location scope refuses the caller, if it does."""
    if not isinstance(route.access, Permission):
        return None
    if identity is None and route.credential is not None:
        return None  # `_authenticate` let the request in on its own credential
    if identity is None or not allows(identity.roles, route.access):
        return "your role may not do this"
    if route.every_location and identity.scope.limited:
        return "a token limited to some locations may not do this"
    return None


def _spends(request: web.Request, route: Route, identity: Identity | None) -> list[Spend]:
    if route.rate_limit is None:
        return []
    budget = request.app[LIMITER].budget(route.rate_limit)
    if identity is None:
        return [(budget, _ip_caller(request))]
    spends = [(budget, f"sub:{identity.subject}")]
    if identity.session:
        spends += _ip_ceiling(request, route)
    return spends


def _ip_ceiling(request: web.Request, route: Route) -> list[Spend]:
    """The client IP's budget of a limited route: one for reads, one for writes."""
    if route.rate_limit is None:
        return []
    name = "ip_get" if route.method == "GET" else "ip_booking_post"
    return [(request.app[LIMITER].budget(name), _ip_caller(request))]


def _extra_spends(route: Route, call: Call) -> list[Spend]:
    if route.extra_budgets is None:
        return []
    limiter = call.request.app[LIMITER]
    return [(limiter.budget(name), caller) for name, caller in route.extra_budgets(call)]


def _ip_caller(request: web.Request) -> str:
    return f"ip:{client_ip(request, request.app[SETTINGS].trusted_proxies)}"


def _idempotency_key(request: web.Request, route: Route) -> str | None:
    if not route.idempotent:
        return None
    key = request.headers.get("Idempotency-Key")
    if not valid_key(key):
        raise ApiError(
            ErrorCode.IDEMPOTENCY_KEY_REQUIRED,
            "this request needs an Idempotency-Key header of 1-255 printable ASCII characters",
        )
    return key


async def _run_once(
    route: Route,
    call: Call,
    key: str,
    raw_body: Any,
    foreseen: Foreseen | None,
    spends: list[Spend],
) -> tuple[dict[str, str], Reply | TextReply]:
    """Runs the handler once per key; replays (or refuses) without running it."""
    store = call.request.app[IDEMPOTENCY]
    digest = request_hash(call.request.method, call.request.path, raw_body)
    durable = not route.replies_persisted_by_handler
    claim = await store.begin(call.subject, key, digest, durable, spends, foreseen)
    if claim.reply is not None:
        return claim.headers, claim.reply
    call.request[IDEMPOTENCY_CLAIM] = (key, digest)
    try:
        reply = await route.handler(call)
    except Refused as error:
        if status_of(error) >= 500:
            await store.abandon(call.subject, key)
            raise
        body = error_body(error, call.request[REQUEST_ID])
        reply = Reply(status_of(error), body, headers_of(error))
    except BaseException:
        await store.abandon(call.subject, key)
        raise
    if reply.status >= 500:
        await store.abandon(call.subject, key)
    elif not reply.recorded:
        await store.complete(call.subject, key, digest, reply, durable=durable)
    return claim.headers, reply


def _unstorable(value: Any, path: str = "") -> str | None:
    """The path of the first string Postgres cannot store (NUL, lone surrogates), if any."""
    if isinstance(value, str):
        if not storable(value):
            return path or "body"
    elif isinstance(value, dict):
        for key, item in value.items():
            found = _unstorable(key, path) or _unstorable(item, f"{path}.{key}".lstrip("."))
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _unstorable(item, f"{path}.{index}".lstrip("."))
            if found:
                return found
    return None


def _reject_unstorable(value: Any) -> None:
    field = _unstorable(value)
    if field is not None:
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            "text must be valid Unicode without NUL characters",
            {"fields": [{"field": field, "message": "invalid characters", "type": "string"}]},
        )


def _parse_query(route: Route, request: web.Request) -> Any:
    if route.query is None:
        return None
    params: dict[str, Any] = {}
    for name in request.query:
        values = request.query.getall(name)
        params[name] = values if len(values) > 1 else values[0]
    _reject_unstorable(params)
    try:
        return route.query.model_validate(params)
    except ValidationError as exc:
        raise _query_error(exc) from None


def _query_error(exc: ValidationError) -> ApiError:
    details = {"fields": _field_errors(exc)}
    unknown = {"extra_forbidden", "literal_error", "enum"}
    if all(e["type"] in unknown for e in exc.errors()):
        return ApiError(ErrorCode.BAD_REQUEST, "unknown query parameter or value", details)
    return ApiError(ErrorCode.VALIDATION_ERROR, "query parameters failed validation", details)


async def _read_json(request: web.Request) -> Any:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise ApiError(ErrorCode.PAYLOAD_TOO_LARGE, "request body is over 64 KiB")
    if request.content_type != "application/json":
        raise ApiError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "send the body as application/json")
    try:
        async with asyncio.timeout(request.app[SETTINGS].body_timeout_seconds):
            raw = await request.read()
    except TimeoutError:  # a client that trickles its body would hold the connection forever
        message = "request body did not arrive within BODY_TIMEOUT_SECONDS"
        raise ApiError(ErrorCode.BAD_REQUEST, message) from None
    except (web.RequestPayloadError, ConnectionResetError):
        raise ApiError(ErrorCode.BAD_REQUEST, "request body could not be read") from None
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(ErrorCode.PAYLOAD_TOO_LARGE, "request body is over 64 KiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(ErrorCode.BAD_REQUEST, "request body is not valid UTF-8 JSON") from None
    if _brackets(raw) > MAX_JSON_DEPTH and nests_deeper_than(text, MAX_JSON_DEPTH):
        raise ApiError(
            ErrorCode.BAD_REQUEST, f"request body nests deeper than {MAX_JSON_DEPTH} levels"
        )
    try:
        body = json.loads(text)
    except ValueError:
        raise ApiError(ErrorCode.BAD_REQUEST, "request body is not valid UTF-8 JSON") from None
    _reject_unstorable(body)
    return body


def _brackets(raw: bytes) -> int:
    """Opening brackets, in strings or not: no deeper nesting than this is possible."""
    return raw.count(b"[") + raw.count(b"{")


def _validate(model: type[BaseModel] | None, raw: Any) -> Any:
    if model is None:
        return None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            "request body failed validation",
            {"fields": _field_errors(exc)},
        ) from None


def _field_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {
            "field": ".".join(str(p) for p in e["loc"]) or "body",
            "message": e["msg"],
            "type": e["type"],
        }
        for e in exc.errors(include_url=False, include_input=False)
    ]
