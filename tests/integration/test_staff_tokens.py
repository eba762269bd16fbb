"""Tokens the platform issues stop within 5 s when their staff account changes; a product's
tokens, which name no account, stay valid while their signature and expiry verify."""

import asyncio
import contextlib
import io
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import jwt
import pytest

from cli.commands import create_staff, main
from common.settings import Settings
from domain.staff import ACCOUNT_CLAIM
from tests.support.api import Api, token

EMAIL = "boss@example.org"
PASSWORD = "correct horse battery"
STOPS_WITHIN_SECONDS = 5


async def _login(api: Api) -> str:
    response = await api.post("/auth/token", json={"email": EMAIL, "password": PASSWORD})
    assert response.status == 200, response.json
    return response.json["access_token"]


async def _stops_working(api: Api, bearer: str, change: Callable[[], Awaitable[object]]) -> None:
    assert (await api.get("/admin/v1/locations", token=bearer)).status == 200
    await change()
    deadline = time.monotonic() + STOPS_WITHIN_SECONDS
    while (response := await api.get("/admin/v1/locations", token=bearer)).status == 200:
        assert time.monotonic() < deadline, "the token still works after 5 s"
        await asyncio.sleep(0.1)
    assert (response.status, response.code) == (401, "UNAUTHENTICATED")


@pytest.fixture
async def account(settings: Settings) -> str:
    return await create_staff(settings.database_url, EMAIL, PASSWORD, ["admin", "manager"])


async def test_a_login_token_names_its_account(api: Api, account: str, settings: Settings) -> None:
    claims = jwt.decode(await _login(api), settings.jwt_secret, algorithms=["HS256"])
    assert claims[ACCOUNT_CLAIM] == account


async def test_deactivating_the_account_stops_its_tokens(
    api: Api, account: str, db: asyncpg.Connection
) -> None:
    await _stops_working(
        api,
        await _login(api),
        lambda: db.execute("UPDATE staff_accounts SET active = FALSE WHERE email = $1", EMAIL),
    )


async def test_removing_a_role_stops_tokens_that_claim_it(
    api: Api, account: str, db: asyncpg.Connection
) -> None:
    await _stops_working(
        api,
        await _login(api),
        lambda: db.execute("UPDATE staff_accounts SET roles = '{admin}' WHERE email = $1", EMAIL),
    )


async def test_changing_the_password_stops_tokens_issued_before(
    api: Api, account: str, settings: Settings
) -> None:
    await _stops_working(
        api,
        await _login(api),
        lambda: create_staff(settings.database_url, EMAIL, "a new password!", ["admin", "manager"]),
    )


async def test_deleting_the_account_stops_its_tokens(
    api: Api, account: str, db: asyncpg.Connection
) -> None:
    await _stops_working(
        api,
        await _login(api),
        lambda: db.execute("DELETE FROM staff_accounts WHERE email = $1", EMAIL),
    )


def _cli_token(*args: str) -> tuple[int, str]:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
        status = main(["token", *args])
    return status, printed.getvalue().strip()


async def test_the_cli_token_names_an_account_and_stops_with_it(
    api: Api, account: str, db: asyncpg.Connection
) -> None:
    status, issued = await asyncio.to_thread(_cli_token, EMAIL.upper())
    assert status == 0
    await _stops_working(
        api,
        issued,
        lambda: db.execute("UPDATE staff_accounts SET active = FALSE WHERE email = $1", EMAIL),
    )


async def test_the_cli_token_refuses_an_unknown_email(account: str) -> None:
    assert await asyncio.to_thread(_cli_token, "nobody@example.org") == (1, "")


async def test_a_token_naming_an_account_that_does_not_exist_is_401(api: Api) -> None:
    forged = token(["admin"], extra={ACCOUNT_CLAIM: str(uuid.uuid4())})
    response = await api.get("/admin/v1/locations", token=forged)
    assert (response.status, response.code) == (401, "UNAUTHENTICATED")


async def test_a_product_token_without_the_claim_stays_valid(
    api: Api, account: str, db: asyncpg.Connection
) -> None:
    minted = token(["admin"], subject=account)
    await db.execute("UPDATE staff_accounts SET active = FALSE")
    assert (await api.get("/admin/v1/locations", token=minted)).status == 200
