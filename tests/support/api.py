"""A small HTTP client for tests: tokens, idempotency keys and JSON in one call."""

import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient
from multidict import CIMultiDict

from common.settings import get_settings
from common.tokens import issue_token


def token(
    roles: list[str],
    subject: str | None = None,
    ttl: int = 3600,
    extra: dict[str, object] | None = None,
) -> str:
    """A token as a product embedding the platform would mint it (plus any `extra` claims)."""
    settings = get_settings()
    return issue_token(
        settings.jwt_secret,
        settings.jwt_issuer,
        subject or str(uuid.uuid4()),
        roles,
        ttl,
        **(extra or {}),
    )


@dataclass
class Response:
    status: int
    json: Any
    headers: CIMultiDict[str]

    @property
    def code(self) -> str | None:
        return (self.json or {}).get("error", {}).get("code")


@dataclass
class Api:
    client: TestClient

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        key: str | bool | None = True,
        headers: dict[str, str] | None = None,
    ) -> Response:
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if method in ("POST", "PATCH", "PUT", "DELETE") and key:
            sent["Idempotency-Key"] = str(uuid.uuid4()) if key is True else key
        response = await self.client.request(method, path, json=json, params=params, headers=sent)
        try:
            body = await response.json(content_type=None)
        except ValueError:
            body = None
        return Response(response.status, body, CIMultiDict(response.headers))

    async def get(self, path: str, **kwargs: Any) -> Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Response:
        return await self.request("POST", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> Response:
        return await self.request("PATCH", path, **kwargs)
