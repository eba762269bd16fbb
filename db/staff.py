"""Reading staff accounts."""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.staff import StaffAccount

_COLUMNS = "id, email, roles, active, password_hash"


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
