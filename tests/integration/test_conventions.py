"""The contract's shared conventions: request ids, error envelope, body rules, idempotency."""

import asyncio

import pytest
import redis

from common.settings import Settings
from tests.support.api import Api


async def test_response_echoes_a_safe_client_request_id(api: Api) -> None:
    response = await api.get("/healthz", headers={"X-Request-Id": "client-abc.123:x"})
    assert response.headers["X-Request-Id"] == "client-abc.123:x"


@pytest.mark.parametrize("unsafe", ["a" * 129, "has space", "semi;colon", "<script>"])
async def test_unsafe_client_request_id_is_replaced(api: Api, unsafe: str) -> None:
    response = await api.get("/healthz", headers={"X-Request-Id": unsafe})
    assert response.headers["X-Request-Id"] != unsafe
    assert len(response.headers["X-Request-Id"]) == 36


async def test_request_id_is_in_the_error_body(api: Api) -> None:
    response = await api.get("/nowhere", headers={"X-Request-Id": "trace-1"})
    assert response.json["error"]["request_id"] == "trace-1"


async def test_unknown_route_gets_the_error_envelope(api: Api) -> None:
    response = await api.get("/v1/nope")
    assert response.status == 404
    assert set(response.json["error"]) == {"code", "message", "details", "request_id"}
    assert response.code == "NOT_FOUND"


async def test_wrong_method_gets_the_error_envelope(api: Api, admin_token: str) -> None:
    response = await api.request("DELETE", "/admin/v1/locations", token=admin_token)
    assert response.status == 405
    assert response.code == "METHOD_NOT_ALLOWED"


async def test_body_over_64_kib_is_413(api: Api, admin_token: str) -> None:
    response = await api.post(
        "/admin/v1/locations", token=admin_token, json={"name": "x" * (65 * 1024)}
    )
    assert response.status == 413
    assert response.code == "PAYLOAD_TOO_LARGE"


async def test_non_json_body_is_415(api: Api, admin_token: str) -> None:
    response = await api.client.post(
        "/admin/v1/locations",
        data="name=x",
        headers={
            "Authorization": f"Bearer {admin_token}",
            "Idempotency-Key": "k1",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status == 415
    assert (await response.json())["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_malformed_json_is_400(api: Api, admin_token: str) -> None:
    response = await api.client.post(
        "/admin/v1/locations",
        data=b'{"name": ',
        headers={
            "Authorization": f"Bearer {admin_token}",
            "Idempotency-Key": "k1",
            "Content-Type": "application/json",
        },
    )
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "BAD_REQUEST"


async def test_validation_error_lists_the_fields(api: Api, admin_token: str) -> None:
    response = await api.post(
        "/admin/v1/locations", token=admin_token, json={"name": 5, "colour": "red"}
    )
    assert response.status == 422
    fields = {f["field"] for f in response.json["error"]["details"]["fields"]}
    assert fields == {"name", "colour"}


@pytest.mark.parametrize("key", [False, "", "k" * 256, "naïve"])
async def test_mutation_without_a_valid_idempotency_key_is_400(
    api: Api, admin_token: str, key: str | bool
) -> None:
    headers = {"Idempotency-Key": key} if isinstance(key, str) and key else None
    response = await api.post(
        "/admin/v1/locations", token=admin_token, json={"name": "A"}, key=False, headers=headers
    )
    assert response.status == 400
    assert response.code == "IDEMPOTENCY_KEY_REQUIRED"


async def test_replay_returns_the_first_reply_and_creates_nothing(
    api: Api, admin_token: str
) -> None:
    first = await api.post("/admin/v1/locations", token=admin_token, json={"name": "A"}, key="k1")
    again = await api.post("/admin/v1/locations", token=admin_token, json={"name": "A"}, key="k1")
    assert (again.status, again.json) == (first.status, first.json)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    listed = await api.get("/admin/v1/locations", token=admin_token)
    assert len(listed.json["items"]) == 1


async def test_replay_after_redis_lost_its_memory_returns_the_same_reply(
    api: Api, admin_token: str, settings: Settings
) -> None:
    first = await api.post("/admin/v1/locations", token=admin_token, json={"name": "A"}, key="k1")
    redis.Redis.from_url(settings.redis_url).flushdb()
    again = await api.post("/admin/v1/locations", token=admin_token, json={"name": "A"}, key="k1")
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    listed = await api.get("/admin/v1/locations", token=admin_token)
    assert len(listed.json["items"]) == 1


async def test_same_key_with_another_payload_is_422(api: Api, admin_token: str) -> None:
    await api.post("/admin/v1/locations", token=admin_token, json={"name": "A"}, key="k1")
    other = await api.post("/admin/v1/locations", token=admin_token, json={"name": "B"}, key="k1")
    assert other.status == 422
    assert other.code == "IDEMPOTENCY_KEY_REUSED"


async def test_same_key_from_another_actor_is_independent(api: Api) -> None:
    from tests.support.api import token

    a = await api.post("/admin/v1/locations", token=token(["admin"]), json={"name": "A"}, key="k")
    b = await api.post("/admin/v1/locations", token=token(["admin"]), json={"name": "A"}, key="k")
    assert a.status == b.status == 201
    assert a.json["location"]["id"] != b.json["location"]["id"]


async def test_concurrent_duplicate_is_409_in_progress(api: Api, admin_token: str) -> None:
    responses = await asyncio.gather(
        *[
            api.post("/admin/v1/locations", token=admin_token, json={"name": "A"}, key="same")
            for _ in range(8)
        ]
    )
    statuses = sorted(r.status for r in responses)
    assert statuses.count(201) >= 1
    assert set(statuses) <= {201, 409}
    assert all(r.code == "IDEMPOTENCY_IN_PROGRESS" for r in responses if r.status == 409)
    listed = await api.get("/admin/v1/locations", token=admin_token)
    assert len(listed.json["items"]) == 1


async def test_postgres_down_is_503_without_internals(settings: Settings) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from tests.support.api import token
    from web.app import create_app

    broken = settings.model_copy(update={"database_url": "postgresql://postgres@127.0.0.1:1/none"})
    client = TestClient(TestServer(create_app(broken)))
    await client.start_server()
    try:
        ready = await client.get("/readyz")
        assert ready.status == 503
        response = await client.get(
            "/admin/v1/locations", headers={"Authorization": f"Bearer {token(['admin'])}"}
        )
        body = await response.json()
        assert response.status == 503
        assert body["error"]["code"] == "UNAVAILABLE"
        assert "Traceback" not in await response.text()
    finally:
        await client.close()


@pytest.mark.parametrize("name", ["nul\u0000byte", "lone \ud800 surrogate"])
async def test_text_postgres_cannot_store_is_422_and_creates_nothing(
    api: Api, admin_token: str, name: str
) -> None:
    response = await api.post("/admin/v1/locations", token=admin_token, json={"name": name})
    assert response.status == 422
    assert response.json["error"]["details"]["fields"][0]["field"] == "name"
    listed = await api.get("/admin/v1/locations", token=admin_token)
    assert listed.json["items"] == []
