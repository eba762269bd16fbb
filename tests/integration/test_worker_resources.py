"""A worker that stops closes the connections its event loop opened."""

import asyncio

import asyncpg
import dramatiq

from actors.expiry import expire_holds
from actors.main import broker
from workers.tasks import EXPIRE_HOLDS

_OURS = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"


async def test_a_stopped_worker_leaves_no_connection_open(db: asyncpg.Connection) -> None:
    """Tests restart workers in one process; each used to keep its pool open, until
    Postgres refused new clients."""
    before = await db.fetchval(_OURS)
    for _ in range(3):
        worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=20)
        worker.start()
        expire_holds.send()  # opens the loop's pool
        await asyncio.to_thread(broker.join, EXPIRE_HOLDS.queue, timeout=10_000)
        worker.stop()
    deadline = asyncio.get_running_loop().time() + 10
    while (now := await db.fetchval(_OURS)) > before:
        assert asyncio.get_running_loop().time() < deadline, f"{now - before} left open"
        await asyncio.sleep(0.05)
