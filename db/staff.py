"""Staff accounts: reading and saving them, and checking that one still backs its tokens.

`StaffAccounts` reads each account at most once per `CHECK_SECONDS` per process,
however many requests carry its tokens, so a deactivated account, a removed role or
a new password stops its tokens within that time (the contract allows 5 s).
"""

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from common.ids import new_id
from common.tokens import Identity
from domain.errors import ErrorCode, Refused
from domain.staff import StaffAccount, still_stands

_COLUMNS = "id, email, roles, active, password_hash"
CHECK_SECONDS = 2.0
MAX_ACCOUNTS = 10_000


def _account(row: Sequence[Any] | None) -> StaffAccount | None:
    if row is None:
        return None
    return StaffAccount(str(row[0]), row[1], frozenset(row[2]), row[3], row[4])


async def account_by_id(conn: AsyncConnection, account_id: uuid.UUID) -> StaffAccount | None:
    result = await conn.execute(
        text(f"SELECT {_COLUMNS} FROM staff_accounts WHERE id = :id"), {"id": account_id}
    )
    return _account(result.first())


async def account_by_email(conn: AsyncConnection, email: str) -> StaffAccount | None:
    """`email` as the account was created: trimmed and lower case."""
    result = await conn.execute(
        text(f"SELECT {_COLUMNS} FROM staff_accounts WHERE email = :email"), {"email": email}
    )
    return _account(result.first())


async def save_account(
    conn: AsyncConnection, email: str, password_hash: str, roles: list[str]
) -> str:
    """Creates an active account, or resets the password and roles of the one with this
    email (trimmed and lower case) and reactivates it; returns its id."""
    staff_id = await conn.scalar(
        text(
            "INSERT INTO staff_accounts (id, email, password_hash, roles)"
            " VALUES (:id, :email, :hash, :roles)"
            " ON CONFLICT (email) DO UPDATE"
            " SET password_hash = EXCLUDED.password_hash, roles = EXCLUDED.roles,"
            " active = TRUE RETURNING id"
        ),
        {"id": new_id(), "email": email, "hash": password_hash, "roles": roles},
    )
    return str(staff_id)


class StaffAccounts:
    """Whether the staff account a platform-issued token names still stands behind it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._read: dict[str, tuple[float, asyncio.Future[StaffAccount | None]]] = {}

    async def check(self, identity: Identity) -> None:
        """Refuses with 401 a platform token whose account no longer backs it."""
        if identity.account is None:
            return
        account = await self._account(identity.account)
        roles = frozenset(role.value for role in identity.roles)
        if not still_stands(account, roles, identity.credential):
            raise Refused(
                ErrorCode.UNAUTHENTICATED,
                "this token's account was deactivated or changed; sign in again",
            )

    async def _account(self, account_id: str) -> StaffAccount | None:
        """The account as read within `CHECK_SECONDS`; concurrent callers share one read."""
        now = time.monotonic()
        read = self._read.get(account_id)
        if read is None or now - read[0] > CHECK_SECONDS:
            if len(self._read) >= MAX_ACCOUNTS:
                self._read.clear()
            read = (now, asyncio.ensure_future(self._load(account_id)))
            self._read[account_id] = read
        try:
            return await asyncio.shield(read[1])
        except Exception:  # a failed read (Postgres down) is not remembered
            if self._read.get(account_id) is read:
                del self._read[account_id]
            raise

    async def _load(self, account_id: str) -> StaffAccount | None:
        async with self._engine.connect() as conn:
            return await account_by_id(conn, uuid.UUID(account_id))
