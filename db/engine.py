"""The async SQLAlchemy engine over asyncpg."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def async_url(url: str) -> str:
    """Accepts the operator's `postgresql://` URL and names the asyncpg driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must be a postgresql:// URL")


def create_engine(
    url: str, pool_size: int = 10, max_overflow: int = 10, pre_ping: bool = True
) -> AsyncEngine:
    """`pre_ping` spends a round trip per checkout to find connections Postgres dropped;
    callers that retry anyway (actors) skip it and let the first failure renew the pool.

    The pool hands out the connection used last: each connection prepares its statements
    and learns its types on first use (round trips of their own), so at a trickle one
    warm connection serves, rather than each request finding a cold one in turn.
    """
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=pre_ping,
        pool_recycle=1800,
        pool_use_lifo=True,
    )


async def ping(engine: AsyncEngine) -> None:
    """One round trip to Postgres; raises when it cannot be made."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
