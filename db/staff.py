"""Staff accounts: reading and saving them, and checking that one still backs its tokens.

`StaffAccounts` reads each account at most once per `CHECK_SECONDS` per process,
however many requests carry its tokens, so a deactivated account, a removed role or
a new password stops its tokens within that time (the contract allows 5 s). The
account's location scope reaches its tokens the same way.
"""

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from common.ids import new_id
from common.tokens import Identity
from db.scoping import covered_by
from domain.errors import ErrorCode, Refused
from domain.scope import Scope
from domain.staff import StaffAccount, still_stands

_COLUMNS = "id, email, roles, active, password_hash, location_ids"
CHECK_SECONDS = 2.0
MAX_ACCOUNTS = 10_000


def _account(row: Sequence[Any] | None) -> StaffAccount | None:
    if row is None:
        return None
    scope = frozenset(str(i) for i in row[5]) if row[5] is not None else None
    return StaffAccount(str(row[0]), row[1], frozenset(row[2]), row[3], row[4], scope)


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


async def create_account(
    conn: AsyncConnection,
    email: str,
    password_hash: str,
    roles: list[str],
    location_ids: list[uuid.UUID] | None,
) -> StaffAccount | None:
    """Creates an active account; None when one with this email exists already."""
    row = (
        await conn.execute(
            text(
                "INSERT INTO staff_accounts (id, email, password_hash, roles, location_ids)"
                " VALUES (:id, :email, :hash, :roles, :locations)"
                f" ON CONFLICT (email) DO NOTHING RETURNING {_COLUMNS}"
            ),
            {
                "id": new_id(),
                "email": email,
                "hash": password_hash,
                "roles": roles,
                "locations": location_ids,
            },
        )
    ).first()
    return _account(row)


@dataclasses.dataclass(frozen=True)
class AccountChange:
    """What a PATCH changes; None keeps a value, except `location_ids` when `rescope` is set."""

    roles: list[str] | None = None
    active: bool | None = None
    password_hash: str | None = None
    rescope: bool = False
    location_ids: list[uuid.UUID] | None = None


async def update_account(
    conn: AsyncConnection, account_id: uuid.UUID, change: AccountChange
) -> StaffAccount | None:
    """Applies the change; None when there is no such account."""
    row = (
        await conn.execute(
            text(
                "UPDATE staff_accounts SET roles = coalesce(:roles, roles),"
                " active = coalesce(:active, active),"
                " password_hash = coalesce(:hash, password_hash),"
                " location_ids = CASE WHEN :rescope THEN CAST(:locations AS uuid[])"
                " ELSE location_ids END"
                f" WHERE id = :id RETURNING {_COLUMNS}"
            ),
            {
                "id": account_id,
                "roles": change.roles,
                "active": change.active,
                "hash": change.password_hash,
                "rescope": change.rescope,
                "locations": change.location_ids,
            },
        )
    ).first()
    return _account(row)


async def accounts_after(
    conn: AsyncConnection, after: uuid.UUID | None, limit: int, scope: Scope
) -> list[StaffAccount]:
    """Up to `limit` accounts in id order after `after`, those whose scope lies within `scope`."""
    rows = await conn.execute(
        text(
            f"SELECT {_COLUMNS} FROM staff_accounts"
            " WHERE (CAST(:after AS uuid) IS NULL OR id > CAST(:after AS uuid))"
            f" AND {covered_by('location_ids')} ORDER BY id LIMIT :n"
        ),
        {"after": after, "scope": scope.ids(), "n": limit},
    )
    return [account for row in rows if (account := _account(row)) is not None]


class StaffAccounts:
    """Whether the staff account a platform-issued token names still stands behind it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._read: dict[str, tuple[float, asyncio.Future[StaffAccount | None]]] = {}

    async def check(self, identity: Identity) -> Identity:
        """The identity with its account's scope; 401 when the account no longer backs it.

        A product's token (naming no account) is returned as it is.
        """
        if identity.account is None:
            return identity
        account = await self._account(identity.account)
        roles = frozenset(role.value for role in identity.roles)
        if account is None or not still_stands(account, roles, identity.credential):
            raise Refused(
                ErrorCode.UNAUTHENTICATED,
                "this token's account was deactivated or changed; sign in again",
            )
        return dataclasses.replace(identity, scope=account.scope)

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
