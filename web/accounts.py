"""Whether the staff account a platform-issued token names still stands behind it.

Each account is read at most once per `CHECK_SECONDS` per process, however many
requests carry its tokens, so a deactivated account, a removed role or a new
password stops its tokens within that time (the contract allows 5 s).
"""

import asyncio
import time
import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from db.staff import account_by_id
from domain.errors import ApiError, ErrorCode
from domain.staff import StaffAccount, still_stands
from web.identity import Identity

CHECK_SECONDS = 2.0
MAX_ACCOUNTS = 10_000


class StaffAccounts:
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
            raise ApiError(
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
