"""The baseline: a plain aiohttp server doing one `SELECT … FOR UPDATE` transaction per hold.

python -m bench.plain_server PORT DATABASE_URL
"""

import contextlib
import subprocess
import sys
import uuid
from collections.abc import Iterator

import asyncpg
from aiohttp import web

from bench.services import wait_listening
from common.ids import new_id
from tests.support.platform import free_port

POOL = web.AppKey("pool", asyncpg.Pool)


async def hold(request: web.Request) -> web.Response:
    body = await request.json()
    slot_id = uuid.UUID(body["slot_id"])
    async with request.app[POOL].acquire() as conn, conn.transaction():
        slot = await conn.fetchrow(
            "SELECT location_id, capacity, booked, hold FROM slot_instances WHERE id = $1"
            " FOR UPDATE",
            slot_id,
        )
        if slot["booked"] + slot["hold"] >= slot["capacity"]:
            return web.json_response({"error": {"code": "SLOT_FULL"}}, status=409)
        await conn.execute("UPDATE slot_instances SET hold = hold + 1 WHERE id = $1", slot_id)
        booking_id = new_id()
        await conn.execute(
            "INSERT INTO bookings (id, slot_id, location_id, user_id, customer_name,"
            " customer_phone, phone_hash, status, hold_expires_at)"
            " VALUES ($1, $2, $3, 'plain', 'x', 'x', $4, 'held', now() + interval '10 minutes')",
            booking_id,
            slot_id,
            slot["location_id"],
            str(booking_id),
        )
    return web.json_response({"booking": {"id": str(booking_id)}}, status=201)


async def _pool(app: web.Application):
    app[POOL] = await asyncpg.create_pool(app["dsn"], min_size=10, max_size=20)
    yield
    await app[POOL].close()


def main() -> None:
    port, dsn = int(sys.argv[1]), sys.argv[2]
    app = web.Application()
    app["dsn"] = dsn
    app.cleanup_ctx.append(_pool)
    app.router.add_post("/hold", hold)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


@contextlib.contextmanager
def running(database_url: str) -> Iterator[str]:
    """This server in a process of its own until the block ends; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.plain_server", str(port), database_url]
    )
    try:
        wait_listening(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


if __name__ == "__main__":
    main()
