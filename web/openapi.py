"""The OpenAPI 3.1 document, generated from the declared routes.

Nothing here is written by hand per endpoint: paths, parameters, bodies, replies,
security, the roles allowed (`x-roles`, the role matrix), error codes, examples and
links all come from each `Route` (and the models it names), so the document cannot
drift from what the pipeline enforces.

Examples are built from the schemas: a field's own `examples` first, then its
format, then the contract's naming conventions (`id` and `*_id` are UUIDv7,
`*_at` are RFC 3339 instants, §2). Request examples hold only required fields and
fields that declare an example, so "Try it out" sends something valid.
"""

import inspect
import re
from typing import Any

from pydantic import BaseModel

from domain.errors import ErrorCode
from domain.roles import GRANTS, Permission
from web.models import ErrorReply
from web.routing import Route

_PATH_PARAM = re.compile(r"{([^}]+)}")
_REF = "#/components/schemas/{model}"
_STATUS_TITLES = {
    400: "Malformed request",
    401: "Missing or invalid token",
    403: "The role may not do this",
    404: "Unknown id",
    409: "Conflict with the current state",
    413: "Body over 64 KiB",
    415: "Body not application/json",
    422: "Validation failed",
    429: "Rate limited; retry after Retry-After seconds",
    503: "A dependency is down; retry shortly",
}
_MESSAGES = {
    ErrorCode.BAD_REQUEST: "request body is not valid UTF-8 JSON",
    ErrorCode.IDEMPOTENCY_KEY_REQUIRED: "this request needs an Idempotency-Key header",
    ErrorCode.UNAUTHENTICATED: "missing or invalid bearer token",
    ErrorCode.FORBIDDEN: "your role may not do this",
    ErrorCode.NOT_FOUND: "no such booking",
    ErrorCode.SLOT_FULL: "no capacity left in this slot",
    ErrorCode.SLOT_UNAVAILABLE: "this slot is blocked, past or not open",
    ErrorCode.SLOT_NOT_OFFERED: "hold a slot GET /v1/slots showed you",
    ErrorCode.TOO_MANY_HOLDS: "you hold as many slots as allowed: confirm or cancel one first",
    ErrorCode.TOO_LATE: "this slot starts too soon to be booked",
    ErrorCode.TOO_EARLY: "this slot is too far ahead to be booked",
    ErrorCode.HOLD_EXPIRED: "the hold expired before it was confirmed",
    ErrorCode.INVALID_STATE: "a confirmed booking cannot be confirmed again",
    ErrorCode.RULE_OVERLAP: "overlaps another rule of the same kind and owner",
    ErrorCode.DUPLICATE_BOOKING: "this phone already has this slot today",
    ErrorCode.IN_USE: "the location has future slots; its time zone cannot change",
    ErrorCode.EMAIL_TAKEN: "a staff account with this email exists",
    ErrorCode.IDEMPOTENCY_IN_PROGRESS: "a request with this Idempotency-Key is still running",
    ErrorCode.PAYLOAD_TOO_LARGE: "request body is over 64 KiB",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: "send the body as application/json",
    ErrorCode.VALIDATION_ERROR: "request body failed validation",
    ErrorCode.IDEMPOTENCY_KEY_REUSED: "this Idempotency-Key was used for another request",
    ErrorCode.RATE_LIMITED: "rate limit exceeded",
    ErrorCode.UNAVAILABLE: "a dependency is unavailable, retry shortly",
}
_DETAILS = {
    ErrorCode.VALIDATION_ERROR: {
        "fields": [
            {
                "field": "customer.phone",
                "message": "phone must be a valid international number, e.g. +971501234567",
                "type": "value_error",
            }
        ]
    }
}
_REQUEST_ID = "0193a5f2-7c4e-7d10-9b2a-5e8f1c3d4a6b"
_ID = "0193a5f2-6b1d-7c3e-8f4a-2d9e0b7c5a18"
_INSTANT = "2026-12-01T09:00:00+04:00"
_DATE = "2026-12-01"
_BY_FORMAT = {"uuid": _ID, "date-time": _INSTANT, "date": _DATE, "email": "layla@example.org"}
_BY_NAME = {
    "timezone": "Asia/Dubai",
    "phone": "+971501234567",
    "email": "layla@example.org",
    "name": "Harbour Clinic",
    "date": _DATE,
    "from": _DATE,
    "to": _DATE,
    "valid_from": _DATE,
    "valid_to": _DATE,
    "cursor": None,
    "next_cursor": None,
}


class _Schemas:
    """Collects model schemas (and their nested definitions) into components."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def ref(self, model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(by_alias=True, ref_template=_REF)
        self.components.update(schema.pop("$defs", {}))
        self.components[model.__name__] = schema
        return {"$ref": _REF.format(model=model.__name__)}

    def inline(self, model: type[BaseModel]) -> dict[str, Any]:
        schema = model.model_json_schema(by_alias=True, ref_template=_REF)
        self.components.update(schema.pop("$defs", {}))
        return schema

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def example(self, schema: dict[str, Any], name: str = "", request: bool = False) -> Any:
        """A value the schema accepts (see the module docstring for where it comes from)."""
        schema = self.resolve(schema)
        for key in ("examples", "enum"):
            if schema.get(key):
                return schema[key][0]
        if "const" in schema:
            return schema["const"]
        if schema.get("default") is not None:
            return schema["default"]
        choices = schema.get("anyOf") or schema.get("oneOf")
        if choices:
            concrete = [c for c in choices if c.get("type") != "null"]
            return self.example(concrete[0], name, request) if concrete else None
        kind = schema.get("type")
        if kind == "object":
            return self._object(schema, request)
        if kind == "array":
            item = self.example(schema.get("items", {}), name.removesuffix("s"), request)
            return [item] * max(1, schema.get("minItems", 1))
        if kind in ("integer", "number"):
            return max(schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1)
        if kind == "boolean":
            return True
        if kind == "string":
            return self._string(schema, name)
        return None

    def _object(self, schema: dict[str, Any], request: bool) -> dict[str, Any]:
        required = set(schema.get("required", []))
        value = {}
        for name, field in schema.get("properties", {}).items():
            declared = "examples" in self.resolve(field)
            if request and name not in required and not declared:
                continue
            value[name] = self.example(field, name, request)
        return value

    @staticmethod
    def _string(schema: dict[str, Any], name: str) -> str | None:
        if schema.get("format") in _BY_FORMAT:
            return _BY_FORMAT[schema["format"]]
        if name in _BY_NAME:
            return _BY_NAME[name]
        if name == "id" or name.endswith("_id"):
            return _ID
        if name.endswith("_at"):
            return _INSTANT
        return "text"


def _json(schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def _parameters(route: Route, schemas: _Schemas) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(route.path)
    ]
    if route.query is not None:
        query = schemas.inline(route.query)
        required = set(query.get("required", []))
        params += [
            {"name": name, "in": "query", "required": name in required, "schema": schema}
            for name, schema in query.get("properties", {}).items()
        ]
    if route.idempotent:
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        )
    params.append(
        {"name": "X-Request-Id", "in": "header", "required": False, "schema": {"type": "string"}}
    )
    return params


def error_codes(route: Route) -> dict[int, list[ErrorCode]]:
    """Every error status the route can answer, with the codes each one carries."""
    codes: dict[int, list[ErrorCode]] = {
        400: [ErrorCode.BAD_REQUEST],
        404: [ErrorCode.NOT_FOUND],
        503: [ErrorCode.UNAVAILABLE],
    }
    if route.access != "public" or 401 in route.responses:
        codes[401] = [ErrorCode.UNAUTHENTICATED]
    if route.access != "public":
        codes[403] = [ErrorCode.FORBIDDEN]
    if route.body is not None:
        codes[413] = [ErrorCode.PAYLOAD_TOO_LARGE]
        codes[415] = [ErrorCode.UNSUPPORTED_MEDIA_TYPE]
    if route.body is not None or route.query is not None or route.idempotent:
        codes[422] = [ErrorCode.VALIDATION_ERROR]
    if route.rate_limit is not None:
        codes[429] = [ErrorCode.RATE_LIMITED]
    if route.conflicts:
        codes[409] = list(route.conflicts)
    if route.idempotent:
        codes[400].append(ErrorCode.IDEMPOTENCY_KEY_REQUIRED)
        codes.setdefault(409, []).append(ErrorCode.IDEMPOTENCY_IN_PROGRESS)
        codes[422].append(ErrorCode.IDEMPOTENCY_KEY_REUSED)
    return dict(sorted(codes.items()))


def allowed_roles(route: Route) -> list[str] | None:
    """The role matrix's row for the route (`domain/roles.py`); None when any token (or
    none) will do."""
    if not isinstance(route.access, Permission):
        return None
    return sorted(role.value for role in GRANTS[route.access])


def _envelope(code: ErrorCode) -> dict[str, Any]:
    return {
        "error": {
            "code": code.value,
            "message": _MESSAGES.get(code, code.value.lower().replace("_", " ")),
            "details": _DETAILS.get(code, {}),
            "request_id": _REQUEST_ID,
        }
    }


def _error_reply(status: int, codes: list[ErrorCode], schemas: _Schemas) -> dict[str, Any]:
    examples = {code.value: {"summary": code.value, "value": _envelope(code)} for code in codes}
    reply: dict[str, Any] = {
        "description": f"{_STATUS_TITLES[status]}: {', '.join(c.value for c in codes)}",
        "content": {"application/json": {"schema": schemas.ref(ErrorReply), "examples": examples}},
    }
    if status == 429:
        seconds = {"schema": {"type": "integer"}, "description": "seconds until the budget refills"}
        reply["headers"] = {"Retry-After": seconds}
    return reply


def _links(route: Route) -> dict[str, Any]:
    return {
        name: {
            "operationId": link.operation,
            "parameters": dict(link.parameters),
            "description": link.description,
        }
        for name, link in route.links.items()
    }


def _operation(route: Route, schemas: _Schemas) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, model in route.responses.items():
        if status >= 400:
            continue
        reply: dict[str, Any] = {"description": "Success"}
        if model is not None:
            schema = schemas.ref(model)
            reply["content"] = _json(schema, schemas.example(schema))
            if route.links:
                reply["links"] = _links(route)
        responses[str(status)] = reply
    for status, codes in error_codes(route).items():
        responses[str(status)] = _error_reply(status, codes, schemas)
    operation: dict[str, Any] = {
        "operationId": route.handler.__name__,
        "summary": route.summary,
        "tags": [route.tag],
        "parameters": _parameters(route, schemas),
        "responses": responses,
    }
    description = inspect.getdoc(route.handler)
    roles = allowed_roles(route)
    if roles is not None:
        operation["x-roles"] = roles
        allowed = f"Roles: {', '.join(roles)}."
        if route.every_location:
            allowed += " Not for a token limited to some locations (403)."
        description = f"{description}\n\n{allowed}" if description else allowed
    if description:
        operation["description"] = description
    if route.body is not None:
        schema = schemas.ref(route.body)
        example = schemas.example(schema, request=True)
        operation["requestBody"] = {"required": True, "content": _json(schema, example)}
    operation["security"] = [] if route.access == "public" else [{"bearer": []}]
    return operation


API_VERSION = "1.0.0"


def document(routes: list[Route]) -> dict[str, Any]:
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "General Scheduler", "version": API_VERSION},
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
