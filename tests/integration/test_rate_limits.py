"""Budgets per caller, shared by every web process through Redis."""

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from common.settings import Settings
from tests.support.api import Api, token
from web.app import create_app


@pytest.fixture
def limited(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "rate_limit_admin": "3/minute",
            "rate_limit_session_post": "2/minute",
            "rate_limit_booking_post": "2/minute",
        }
    )


async def _api(settings: Settings) -> Api:
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    return Api(client)


@pytest.fixture
async def two_apps(limited: Settings) -> AsyncIterator[tuple[Api, Api]]:
    first, second = await _api(limited), await _api(limited)
    try:
        yield first, second
    finally:
        await first.client.close()
        await second.client.close()


async def test_budget_is_spent_at_the_configured_count(two_apps: tuple[Api, Api]) -> None:
    api, _ = two_apps
    staff = token(["admin"])
    statuses = [(await api.get("/admin/v1/locations", token=staff)).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


async def test_limited_replies_carry_ratelimit_headers(two_apps: tuple[Api, Api]) -> None:
    api, _ = two_apps
    staff = token(["admin"])
    first = await api.get("/admin/v1/locations", token=staff)
    assert first.headers["RateLimit-Limit"] == "3"
    assert first.headers["RateLimit-Remaining"] == "2"
    assert int(first.headers["RateLimit-Reset"]) > 0


async def test_over_budget_is_429_with_retry_after(two_apps: tuple[Api, Api]) -> None:
    api, _ = two_apps
    staff = token(["admin"])
    for _ in range(3):
        await api.get("/admin/v1/locations", token=staff)
    refused = await api.get("/admin/v1/locations", token=staff)
    assert refused.status == 429
    assert refused.code == "RATE_LIMITED"
    assert 1 <= int(refused.headers["Retry-After"]) <= 20
    assert refused.headers["RateLimit-Remaining"] == "0"


async def test_two_web_processes_share_one_budget(two_apps: tuple[Api, Api]) -> None:
    first, second = two_apps
    staff = token(["admin"])
    await first.get("/admin/v1/locations", token=staff)
    await second.get("/admin/v1/locations", token=staff)
    await first.get("/admin/v1/locations", token=staff)
    assert (await second.get("/admin/v1/locations", token=staff)).status == 429


async def test_each_caller_has_its_own_budget(two_apps: tuple[Api, Api]) -> None:
    api, _ = two_apps
    spender = token(["admin"])
    for _ in range(4):
        await api.get("/admin/v1/locations", token=spender)
    assert (await api.get("/admin/v1/locations", token=token(["admin"]))).status == 200


async def test_budget_refills_after_its_period(settings: Settings) -> None:
    api = await _api(settings.model_copy(update={"rate_limit_admin": "2/second"}))
    try:
        staff = token(["admin"])
        await api.get("/admin/v1/locations", token=staff)
        await api.get("/admin/v1/locations", token=staff)
        refused = await api.get("/admin/v1/locations", token=staff)
        assert refused.status == 429
        deadline = time.monotonic() + int(refused.headers["Retry-After"]) + 2
        while (await api.get("/admin/v1/locations", token=staff)).status == 429:
            assert time.monotonic() < deadline, "budget did not refill within Retry-After"
            await asyncio.sleep(0.05)
    finally:
        await api.client.close()


async def test_sessions_are_limited_per_ip_not_per_session(two_apps: tuple[Api, Api]) -> None:
    api, _ = two_apps
    statuses = [(await api.post("/v1/sessions")).status for _ in range(3)]
    assert statuses == [201, 201, 429]


async def test_forged_forwarded_for_from_untrusted_peer_is_ignored(
    two_apps: tuple[Api, Api],
) -> None:
    api, _ = two_apps
    statuses = [
        (await api.post("/v1/sessions", headers={"X-Forwarded-For": f"203.0.113.{i}"})).status
        for i in range(3)
    ]
    assert statuses == [201, 201, 429]


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(limited: Settings) -> None:
    api = await _api(limited.model_copy(update={"trusted_proxies": ["127.0.0.0/8"]}))
    try:
        statuses = [
            (await api.post("/v1/sessions", headers={"X-Forwarded-For": f"203.0.113.{i}"})).status
            for i in range(3)
        ]
        assert statuses == [201, 201, 201]
    finally:
        await api.client.close()


async def test_idempotent_requests_spend_the_budget(two_apps: tuple[Api, Api]) -> None:
    api, _ = two_apps
    staff = token(["admin"])
    statuses = [
        (await api.post("/admin/v1/locations", token=staff, json={"name": f"L{i}"})).status
        for i in range(4)
    ]
    assert statuses == [201, 201, 201, 429]


async def test_invalid_requests_spend_the_budget_and_429_comes_first(
    two_apps: tuple[Api, Api],
) -> None:
    api, _ = two_apps
    visitor = token(["user"])
    statuses = [
        (await api.post("/v1/bookings", token=visitor, json={"slot_id": "nope"})).status
        for _ in range(3)
    ]
    assert statuses == [422, 422, 429]
