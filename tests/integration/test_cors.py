"""CORS for `/v1/*`: only `CORS_ALLOWED_ORIGINS` may read replies from a browser (contract §11)."""

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from common.settings import Settings
from tests.support.api import Api, token
from web.app import create_app

ALLOWED = "https://shop.example"
OTHER = "https://elsewhere.example"


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    allowing = settings.model_copy(update={"cors_allowed_origins": [ALLOWED]})
    client = TestClient(TestServer(create_app(allowing)))
    await client.start_server()
    try:
        yield Api(client)
    finally:
        await client.close()


def _preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
    }


async def test_preflight_from_an_allowed_origin_passes(api: Api) -> None:
    reply = await api.client.options("/v1/bookings", headers=_preflight(ALLOWED))
    assert reply.status == 204
    assert reply.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "POST" in reply.headers["Access-Control-Allow-Methods"]
    allowed_headers = reply.headers["Access-Control-Allow-Headers"].lower()
    for header in ("authorization", "content-type", "idempotency-key"):
        assert header in allowed_headers
    assert "X-Request-Id" in reply.headers
    assert "Access-Control-Allow-Credentials" not in reply.headers


async def test_preflight_from_another_origin_is_refused_without_cors_headers(api: Api) -> None:
    reply = await api.client.options("/v1/bookings", headers=_preflight(OTHER))
    assert reply.status == 403
    assert (await reply.json())["error"]["code"] == "FORBIDDEN"
    assert not [h for h in reply.headers if h.lower().startswith("access-control-")]


async def test_allowed_origin_reads_replies_and_errors(api: Api) -> None:
    session = await api.post("/v1/sessions", headers={"Origin": ALLOWED})
    refused = await api.get(
        "/v1/slots", token=token(["user"]), params={"location_id": "x"}, headers={"Origin": ALLOWED}
    )
    for reply in (session, refused):
        assert reply.headers["Access-Control-Allow-Origin"] == ALLOWED
        exposed = reply.headers["Access-Control-Expose-Headers"]
        assert "Retry-After" in exposed and "X-Request-Id" in exposed
        assert "Origin" in reply.headers["Vary"]
    assert refused.status == 422


async def test_other_origins_and_other_paths_get_no_cors_headers(api: Api) -> None:
    other = await api.post("/v1/sessions", headers={"Origin": OTHER})
    admin = await api.get(
        "/admin/v1/locations", token=token(["admin"]), headers={"Origin": ALLOWED}
    )
    assert other.status == 201 and admin.status == 200
    assert "Access-Control-Allow-Origin" not in other.headers
    assert "Access-Control-Allow-Origin" not in admin.headers


async def test_nothing_is_allowed_by_default(settings: Settings) -> None:
    assert Settings().cors_allowed_origins == []
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    try:
        reply = await client.options("/v1/sessions", headers=_preflight(ALLOWED))
        assert reply.status == 403
    finally:
        await client.close()


def test_origins_are_read_as_a_list_or_separated_by_commas(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "https://a.example, http://B.example:8000/")
    assert Settings().cors_allowed_origins == ["https://a.example", "http://b.example:8000"]
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", '["https://a.example"]')
    assert Settings().cors_allowed_origins == ["https://a.example"]
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "https://a.example/path")
    with pytest.raises(ValueError, match="not an origin"):
        Settings()
