"""Alembic runs migrations over the same asyncpg driver the services use."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from common.settings import get_settings
from db.engine import create_engine


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    url = context.config.attributes.get("database_url") or get_settings().database_url
    engine = create_engine(url, pool_size=1, max_overflow=0)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


asyncio.run(_main())
