"""The OpenAPI 3.1 document, generated from the declared routes.

Nothing here is written by hand per endpoint: paths, parameters, bodies, replies,
security and the error envelope all come from each `Route`, so the document
cannot drift from what the pipeline enforces.
"""

import re
from typing import Any

from pydantic import BaseModel

from web.models import ErrorReply
from web.routing import Route

_PATH_PARAM = re.compile(r"{([^}]+)}")
_REF = "#/components/schemas/{model}"
_ERRORS = {
    400: "Malformed request (BAD_REQUEST, IDEMPOTENCY_KEY_REQUIRED)",
    401: "Missing or invalid token (UNAUTHENTICATED)",
    403: "Role may not do this (FORBIDDEN)",
    404: "Unknown id (NOT_FOUND)",
    409: "Conflict with the current state",
    413: "Body over 64 KiB (PAYLOAD_TOO_LARGE)",
    415: "Body not application/json (UNSUPPORTED_MEDIA_TYPE)",
    422: "Validation failed (VALIDATION_ERROR, IDEMPOTENCY_KEY_REUSED)",
    429: "Rate limited (RATE_LIMITED), see Retry-After",
    503: "A dependency is down (UNAVAILABLE)",
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


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


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


def _error_statuses(route: Route) -> list[int]:
    statuses = [400, 404, 409, 503]
    if route.access != "public":
        statuses += [401, 403]
    if route.body is not None:
        statuses += [413, 415]
    if route.body is not None or route.query is not None or route.idempotent:
        statuses.append(422)
    if route.rate_limit is not None:
        statuses.append(429)
    return sorted(statuses)


def _operation(route: Route, schemas: _Schemas) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, model in route.responses.items():
        reply: dict[str, Any] = {"description": "Success"}
        if model is not None:
            reply["content"] = _json(schemas.ref(model))
        responses[str(status)] = reply
    error = schemas.ref(ErrorReply)
    for status in _error_statuses(route):
        responses.setdefault(str(status), {"description": _ERRORS[status], "content": _json(error)})
    operation: dict[str, Any] = {
        "operationId": route.handler.__name__,
        "summary": route.summary,
        "tags": [route.tag],
        "parameters": _parameters(route, schemas),
        "responses": responses,
    }
    if route.body is not None:
        operation["requestBody"] = {"required": True, "content": _json(schemas.ref(route.body))}
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
