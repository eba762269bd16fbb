"""Budgets per caller, shared by every web process through Redis."""

import asyncio
import contextlib
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from common.settings import Settings
from tests.support import rows
from tests.support.api import Api, token
from tests.support.exposure import expose
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
        # Spent until refused: on a busy machine the budget may refill between requests.
        answers = [await api.get("/admin/v1/locations", token=staff) for _ in range(3)]
        while answers[-1].status != 429:
            assert len(answers) < 20, "a budget of 2/second was never spent"
            answers.append(await api.get("/admin/v1/locations", token=staff))
        refused = answers[-1]
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


@pytest.fixture
async def ip_limited(settings: Settings) -> AsyncIterator[Api]:
    api = await _api(
        settings.model_copy(
            update={
                "rate_limit_ip_get": "3/minute",
                "rate_limit_ip_booking_post": "3/minute",
                "rate_limit_admin": "3/minute",
            }
        )
    )
    try:
        yield api
    finally:
        await api.client.close()


async def _session(api: Api) -> str:
    return (await api.post("/v1/sessions")).json["session_token"]


async def test_fresh_sessions_share_their_ip_address_budget(ip_limited: Api) -> None:
    statuses = [
        (
            await ip_limited.get(f"/v1/bookings/{uuid.uuid4()}", token=await _session(ip_limited))
        ).status
        for _ in range(4)
    ]
    assert statuses == [404, 404, 404, 429]


async def test_fresh_sessions_share_their_ip_address_budget_for_bookings(ip_limited: Api) -> None:
    statuses = [
        (await ip_limited.post("/v1/bookings", token=await _session(ip_limited), json={})).status
        for _ in range(4)
    ]
    assert statuses == [422, 422, 422, 429]


async def test_tokens_a_product_mints_are_not_ip_limited(ip_limited: Api) -> None:
    statuses = [
        (await ip_limited.get(f"/v1/bookings/{uuid.uuid4()}", token=token(["user"]))).status
        for _ in range(4)
    ]
    assert statuses == [404, 404, 404, 404]


async def test_requests_without_a_valid_token_spend_the_ip_address_budget(
    ip_limited: Api,
) -> None:
    replies = [await ip_limited.get(f"/v1/bookings/{uuid.uuid4()}") for _ in range(4)]
    assert [r.status for r in replies] == [401, 401, 401, 429]
    assert replies[0].headers["RateLimit-Remaining"] == "2"


async def test_a_forbidden_request_spends_the_budget(ip_limited: Api) -> None:
    visitor = token(["user"])
    replies = [await ip_limited.get("/admin/v1/locations", token=visitor) for _ in range(4)]
    assert [r.status for r in replies] == [403, 403, 403, 429]
    assert replies[0].headers["RateLimit-Remaining"] == "2"


async def test_a_sessions_hold_spends_both_budgets_in_one_redis_call(
    ip_limited: Api, db: asyncpg.Connection, settings: Settings
) -> None:
    slot_id = await rows.slot(db, await rows.location(db))
    body = {"slot_id": str(slot_id), "customer": {"name": "Ann", "phone": "+971501234567"}}
    first, visitor = await _session(ip_limited), await _session(ip_limited)
    for session in (first, visitor):  # both were shown the slot before it filled up
        await expose(ip_limited, db, session, slot_id)
    await db.execute("UPDATE slot_instances SET booked = 1 WHERE id = $1", slot_id)
    warm = await ip_limited.post("/v1/bookings", token=first, json=body)
    assert warm.code == "SLOT_FULL"
    with _commands_sent(settings) as sent:
        refused = await ip_limited.post("/v1/bookings", token=visitor, json=body)
    assert refused.code == "SLOT_FULL"
    assert [command.split()[0].upper() for command in sent] == ["EVALSHA"]
    assert refused.headers["RateLimit-Policy"] == (
        '"booking_post";q=100000;w=60, "ip_booking_post";q=3;w=60'
    )
    assert refused.headers["RateLimit-Remaining"] == "1"


@contextlib.contextmanager
def _commands_sent(settings: Settings) -> Iterator[list[str]]:
    """The commands clients send to the test's Redis db meanwhile (not those scripts run)."""
    watcher = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    signal = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    signal.ping()  # connected (its db selected) before the watch begins
    db = watcher.connection_pool.connection_kwargs.get("db", 0)
    marker = f"done-{uuid.uuid4()}"
    sent: list[str] = []
    with watcher.monitor() as monitor:
        yield sent
        signal.echo(marker)
        for command in monitor.listen():
            if marker in command["command"]:
                break
            if command["db"] == db and command["client_type"] != "lua":
                sent.append(command["command"])
    watcher.close()
    signal.close()


async def test_login_is_limited_per_email_whatever_the_address(settings: Settings) -> None:
    api = await _api(
        settings.model_copy(
            update={"rate_limit_login": "3/minute", "trusted_proxies": ["127.0.0.0/8"]}
        )
    )
    try:
        statuses = [
            (
                await api.post(
                    "/auth/token",
                    json={"email": "boss@example.org", "password": "guess"},
                    headers={"X-Forwarded-For": f"203.0.113.{i}"},
                )
            ).status
            for i in range(4)
        ]
        assert statuses == [401, 401, 401, 429]
    finally:
        await api.client.close()


async def test_login_is_limited_per_address_whatever_the_email(settings: Settings) -> None:
    api = await _api(settings.model_copy(update={"rate_limit_login": "3/minute"}))
    try:
        statuses = [
            (
                await api.post(
                    "/auth/token", json={"email": f"user{i}@example.org", "password": "guess"}
                )
            ).status
            for i in range(4)
        ]
        assert statuses == [401, 401, 401, 429]
    finally:
        await api.client.close()


async def test_client_errors_of_limited_routes_carry_ratelimit_headers(
    two_apps: tuple[Api, Api],
) -> None:
    api, _ = two_apps
    staff = token(["admin"])
    await api.post("/admin/v1/locations", token=staff, json={"name": "A"}, key="same")
    reused = await api.post("/admin/v1/locations", token=staff, json={"name": "B"}, key="same")
    invalid = await api.post("/v1/bookings", token=token(["user"]), json={"slot_id": "nope"})
    assert reused.code == "IDEMPOTENCY_KEY_REUSED"
    assert reused.headers["RateLimit-Remaining"] == "1"
    assert invalid.status == 422
    assert invalid.headers["RateLimit-Limit"] == "2"


async def test_replies_carry_the_ietf_draft_fields_too(two_apps: tuple[Api, Api]) -> None:
    api, _ = two_apps
    staff = token(["admin"])
    first = await api.get("/admin/v1/locations", token=staff)
    assert first.headers["RateLimit-Policy"] == '"admin";q=3;w=60'
    assert re.fullmatch(r'"admin";r=2;t=\d+', first.headers["RateLimit"])
    for _ in range(2):
        await api.get("/admin/v1/locations", token=staff)
    refused = await api.get("/admin/v1/locations", token=staff)
    assert refused.headers["RateLimit"] == f'"admin";r=0;t={refused.headers["Retry-After"]}'
