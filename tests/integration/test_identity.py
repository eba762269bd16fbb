"""Tokens: what is accepted, what is refused with 401, and how staff and visitors get one."""

import asyncio
import contextlib
import gc
import logging
import os
import statistics
import time
from collections.abc import Iterator

import aiohttp
import jwt
import pytest

from cli.commands import create_staff
from common.settings import Settings
from tests.support.api import Api, token


def _forge(settings: Settings, **claims: object) -> str:
    base = {"sub": "someone", "roles": ["admin"], "exp": int(time.time()) + 60}
    return jwt.encode({**base, **claims}, settings.jwt_secret, algorithm="HS256")


async def _status_with(api: Api, bearer: str) -> tuple[int, str | None]:
    response = await api.get("/admin/v1/locations", headers={"Authorization": bearer})
    return response.status, response.code


async def test_valid_token_is_accepted(api: Api, settings: Settings) -> None:
    assert await _status_with(api, f"Bearer {_forge(settings)}") == (200, None)


async def test_token_without_issuer_is_accepted(api: Api, settings: Settings) -> None:
    assert (await _status_with(api, f"Bearer {_forge(settings)}"))[0] == 200


async def test_missing_token_is_401(api: Api) -> None:
    response = await api.get("/admin/v1/locations")
    assert response.status == 401
    assert response.code == "UNAUTHENTICATED"


@pytest.mark.parametrize("header", ["Bearer", "Basic abc", "Bearer not.a.jwt", "token"])
async def test_malformed_authorization_is_401(api: Api, header: str) -> None:
    assert await _status_with(api, header) == (401, "UNAUTHENTICATED")


async def test_expired_token_is_401(api: Api, settings: Settings) -> None:
    expired = _forge(settings, exp=int(time.time()) - 5)
    assert await _status_with(api, f"Bearer {expired}") == (401, "UNAUTHENTICATED")


async def test_token_signed_with_another_key_is_401(api: Api) -> None:
    forged = jwt.encode({"sub": "x", "roles": ["admin"], "exp": time.time() + 60}, "k" * 40)
    assert await _status_with(api, f"Bearer {forged}") == (401, "UNAUTHENTICATED")


async def test_alg_none_token_is_401(api: Api) -> None:
    unsigned = jwt.encode(
        {"sub": "x", "roles": ["admin"], "exp": int(time.time()) + 60}, None, algorithm="none"
    )
    assert await _status_with(api, f"Bearer {unsigned}") == (401, "UNAUTHENTICATED")


async def test_other_algorithm_with_the_same_secret_is_401(api: Api, settings: Settings) -> None:
    other = jwt.encode(
        {"sub": "x", "roles": ["admin"], "exp": int(time.time()) + 60},
        settings.jwt_secret,
        algorithm="HS512",
    )
    assert await _status_with(api, f"Bearer {other}") == (401, "UNAUTHENTICATED")


async def test_token_without_exp_is_401(api: Api, settings: Settings) -> None:
    no_exp = jwt.encode({"sub": "x", "roles": ["admin"]}, settings.jwt_secret, algorithm="HS256")
    assert await _status_with(api, f"Bearer {no_exp}") == (401, "UNAUTHENTICATED")


async def test_token_from_another_issuer_is_401(api: Api, settings: Settings) -> None:
    assert await _status_with(api, f"Bearer {_forge(settings, iss='evil')}") == (
        401,
        "UNAUTHENTICATED",
    )


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "a\x00b"},
        {"sub": "\ud800"},
        {"roles": [{"admin": True}]},
        {"roles": [["admin"]]},
    ],
    ids=["nul in subject", "lone surrogate in subject", "role is an object", "role is a list"],
)
async def test_a_signed_token_with_claims_we_cannot_store_or_read_is_401(
    api: Api, settings: Settings, claims: dict[str, object]
) -> None:
    assert await _status_with(api, f"Bearer {_forge(settings, **claims)}") == (
        401,
        "UNAUTHENTICATED",
    )


async def test_a_token_expiring_after_year_9999_is_accepted(api: Api, settings: Settings) -> None:
    assert await _status_with(api, f"Bearer {_forge(settings, exp=10**400)}") == (200, None)


async def test_user_role_is_forbidden_on_admin_api(api: Api) -> None:
    response = await api.get("/admin/v1/locations", token=token(["user"]))
    assert response.status == 403
    assert response.code == "FORBIDDEN"


async def test_staff_login_returns_a_working_bearer_token(api: Api, settings: Settings) -> None:
    await create_staff(settings.database_url, "Ops@Example.org", "correct horse", ["manager"])
    response = await api.post(
        "/auth/token", json={"email": "ops@example.org", "password": "correct horse"}
    )
    assert response.status == 200
    assert response.json["token_type"] == "Bearer"
    assert response.json["expires_in"] > 0
    claims = jwt.decode(response.json["access_token"], settings.jwt_secret, algorithms=["HS256"])
    assert claims["roles"] == ["manager"]
    assert claims["iss"] == settings.jwt_issuer
    listed = await api.get("/admin/v1/locations", token=response.json["access_token"])
    assert listed.status == 200


async def test_staff_login_with_wrong_password_is_401(api: Api, settings: Settings) -> None:
    await create_staff(settings.database_url, "ops@example.org", "correct horse", ["admin"])
    response = await api.post("/auth/token", json={"email": "ops@example.org", "password": "nope"})
    assert response.status == 401
    assert response.code == "UNAUTHENTICATED"


async def test_login_for_unknown_email_is_401(api: Api) -> None:
    response = await api.post("/auth/token", json={"email": "who@example.org", "password": "x"})
    assert response.status == 401


async def test_visitor_session_token_has_user_role_and_its_own_subject(
    api: Api, settings: Settings
) -> None:
    first = await api.post("/v1/sessions")
    second = await api.post("/v1/sessions")
    assert first.status == 201
    claims = jwt.decode(first.json["session_token"], settings.jwt_secret, algorithms=["HS256"])
    assert claims["roles"] == ["user"]
    assert claims["sub"] == first.json["session_id"]
    assert first.json["session_id"] != second.json["session_id"]
    forbidden = await api.get("/admin/v1/locations", token=first.json["session_token"])
    assert forbidden.status == 403


@contextlib.contextmanager
def _access_logs_off() -> Iterator[None]:
    """pytest keeps every captured log record, which would count as the process's growth."""
    loggers = [logging.getLogger(name) for name in ("web.access", "aiohttp.access")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def test_ten_thousand_padded_variants_of_one_token_grow_memory_by_under_5_mb(
    api: Api,
) -> None:
    url = api.client.make_url("/admin/v1/locations")
    visitor = token(["user"])

    async def forbidden(session: aiohttp.ClientSession, variant: int) -> int:
        padding = " " * (variant % 5000 + 1) + "\t" * (variant // 5000 + 1)
        async with session.get(url, headers={"Authorization": "Bearer" + padding + visitor}) as r:
            return r.status

    with _access_logs_off():
        async with aiohttp.ClientSession() as session:  # the test client keeps every reply
            await asyncio.gather(*(forbidden(session, n) for n in range(100)))  # warms buffers
            gc.collect()
            before = _resident_bytes()
            for first in range(100, 10_100, 100):
                batch = range(first, first + 100)
                assert set(await asyncio.gather(*(forbidden(session, n) for n in batch))) == {403}
            gc.collect()
            grown = _resident_bytes() - before
    assert grown < 5 * 1024 * 1024, f"grew by {grown / 1e6:.1f} MB"


async def test_login_takes_as_long_for_an_unknown_email_as_for_a_staff_one(
    api: Api, settings: Settings
) -> None:
    await create_staff(settings.database_url, "ops@example.org", "correct horse", ["admin"])

    timings: dict[str, list[float]] = {"ops@example.org": [], "nobody@example.org": []}
    for attempt in range(5):  # taken in turns, so a swing in the machine's load hits both
        for email, taken in timings.items():
            started = time.perf_counter()
            refused = await api.post(
                "/auth/token", json={"email": email, "password": f"wrong {attempt}"}
            )
            taken.append(time.perf_counter() - started)
            assert refused.status == 401

    staff, unknown = (statistics.median(taken) for taken in timings.values())
    assert 1 / 3 < unknown / staff < 3, f"staff {staff:.3f} s, unknown {unknown:.3f} s"
