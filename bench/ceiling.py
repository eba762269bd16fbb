"""How far the fixed stack can go on this machine: bare endpoints next to the plain server.

    python -m bench.ceiling [--duration 8] [--rounds 3] [--kinds bare,redis,jwt,queue]

Each kind is a server that does less than the platform must, raced by the same wrk
script as `bench.holds`, against the plain `FOR UPDATE` server in the same round:
(a) `bare`: aiohttp on uvloop, two processes, parses the body and answers 409 (drop);
(b) `redis`: the same, after one Redis round trip (drop);
(c) `jwt`: the same, after checking the visitor's token with PyJWT once per process (as
    the platform does), 20,000 visitors each from its own address (crowd);
(d) `queue`: the least a queue-and-batch hold can do (hot slot): the web pushes the hold
    to one Redis list and awaits its reply on pub/sub; one asyncio worker pops up to 200,
    writes them in one transaction (lock the slot, insert the bookings, count them) and
    publishes the replies. No Dramatiq, encryption, idempotency, outbox or limits.
    Its slot holds 30,000 (as in `bench.holds`); a faster run sells out and is refused.
A platform target above a kind's ratio cannot be met by a server that also does what
that kind leaves out. Prints each round and the median ratio of each kind.
"""

import argparse
import asyncio
import multiprocessing
import statistics
import uuid

import asyncpg
import jwt
import orjson
import redis.asyncio as aioredis
import uvloop
from aiohttp import web

from bench import plain_server
from bench.holds import CROWD, JWT_SECRET, _slots, sessions, tokens
from bench.load import Figures, drive
from bench.services import migrated, wait_listening
from tests.support.platform import free_port
from tests.support.services import Services

KINDS = ("bare", "redis", "jwt", "queue")
WEB_PROCESSES = 2
LANE = "ceiling:lane"
BATCH = 200
_PEEK = "return redis.call('GET', KEYS[1])"
_FULL = orjson.dumps({"error": {"code": "SLOT_FULL", "message": "no capacity left"}})
_INSERT = (
    "INSERT INTO bookings (id, slot_id, location_id, user_id, customer_name, customer_phone,"
    " phone_hash, status, hold_expires_at) SELECT i, $2, $3, 'ceiling', 'x', 'x', i::text,"
    " 'held', now() + interval '10 minutes' FROM unnest($1::uuid[]) AS i"
)


def _refused() -> web.Response:
    return web.Response(status=409, body=_FULL, content_type="application/json")


def _drop_app(kind: str, redis_url: str) -> web.Application:
    verified: dict[str, dict] = {}

    async def connect(app: web.Application) -> None:
        app["peek"] = aioredis.Redis.from_url(redis_url).register_script(_PEEK)

    async def hold(request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        if kind == "jwt":
            token = request.headers["Authorization"].removeprefix("Bearer ")
            if token not in verified:
                verified[token] = jwt.decode(
                    token, JWT_SECRET, algorithms=["HS256"], issuer="general-scheduler"
                )
        if kind != "bare":
            await request.app["peek"](keys=[f"ceiling:full:{body['slot_id']}"])
        return _refused()

    app = web.Application()
    app.on_startup.append(connect)
    app.router.add_post("/v1/bookings", hold)
    return app


def _queue_app(redis_url: str) -> web.Application:
    async def connect(app: web.Application) -> None:
        app["redis"] = aioredis.Redis.from_url(redis_url)
        app["channel"] = f"ceiling:reply:{uuid.uuid4()}"
        app["waiting"] = {}
        pubsub = app["redis"].pubsub()
        await pubsub.subscribe(app["channel"])
        app["listener"] = asyncio.ensure_future(_listen(pubsub, app["waiting"]))

    async def hold(request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        booking_id = str(uuid.uuid4())
        answer = request.app["waiting"][booking_id] = asyncio.get_running_loop().create_future()
        command = orjson.dumps([booking_id, body["slot_id"], request.app["channel"]])
        await request.app["redis"].rpush(LANE, command)
        if not await answer:
            return _refused()
        reply = orjson.dumps({"booking": {"id": booking_id, "status": "held"}})
        return web.Response(status=201, body=reply, content_type="application/json")

    app = web.Application()
    app.on_startup.append(connect)
    app.router.add_post("/v1/bookings", hold)
    return app


async def _listen(pubsub: aioredis.client.PubSub, waiting: dict) -> None:
    async for message in pubsub.listen():
        if message["type"] == "message":
            for booking_id, held in orjson.loads(message["data"]):
                waiting.pop(booking_id).set_result(held)


async def _drain(redis_url: str, database_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    conn = await asyncpg.connect(database_url)
    while True:
        first = await client.blpop([LANE], timeout=1)
        if first is None:
            continue
        async with client.pipeline(transaction=True) as pipe:
            pipe.lrange(LANE, 0, BATCH - 1)
            pipe.ltrim(LANE, BATCH, -1)
            more, _ = await pipe.execute()
        commands = [orjson.loads(raw) for raw in (first[1], *more)]
        held = await _write(conn, commands)
        replies: dict[str, list] = {}
        for n, (booking_id, _, channel) in enumerate(commands):
            replies.setdefault(channel, []).append([booking_id, n < held])
        async with client.pipeline(transaction=False) as pipe:
            for channel, items in replies.items():
                pipe.publish(channel, orjson.dumps(items))
            await pipe.execute()


async def _write(conn: asyncpg.Connection, commands: list) -> int:
    """Holds as many of the commands (all for one slot) as the slot has room for."""
    slot_id = uuid.UUID(commands[0][1])
    async with conn.transaction():
        slot = await conn.fetchrow(
            "SELECT location_id, capacity - booked - hold AS left FROM slot_instances"
            " WHERE id = $1 FOR UPDATE",
            slot_id,
        )
        taken = [uuid.UUID(c[0]) for c in commands[: max(0, slot["left"])]]
        if taken:
            await conn.execute(_INSERT, taken, slot_id, slot["location_id"])
            await conn.execute(
                "UPDATE slot_instances SET hold = hold + $2 WHERE id = $1", slot_id, len(taken)
            )
    return len(taken)


def _serve(kind: str, port: int, redis_url: str) -> None:
    app = _queue_app(redis_url) if kind == "queue" else _drop_app(kind, redis_url)
    web.run_app(
        app, host="127.0.0.1", port=port, reuse_port=True, print=None, access_log=None,
        loop=uvloop.new_event_loop(),
    )  # fmt: skip


def _run_drainer(redis_url: str, database_url: str) -> None:
    uvloop.run(_drain(redis_url, database_url))


def _start(kind: str, port: int, services: Services) -> list[multiprocessing.Process]:
    processes = [
        multiprocessing.Process(target=_serve, args=(kind, port, services.redis_url))
        for _ in range(WEB_PROCESSES)
    ]
    if kind == "queue":
        args = (services.redis_url, services.database_url)
        processes.append(multiprocessing.Process(target=_run_drainer, args=args))
    for process in processes:
        process.start()
    wait_listening(port)
    return processes


def _round(
    kind: str, services: Services, plain_url: str, visitors: dict[str, list[str]], duration: float
) -> float:
    scenario = "slot" if kind == "queue" else "drop"
    count, capacity = (1, 30_000) if scenario == "slot" else (10, 1)
    ours = asyncio.run(_slots(services.database_url, count, capacity))
    theirs = asyncio.run(_slots(services.database_url, count, capacity))
    port = free_port()
    processes = _start(kind, port, services)
    try:
        baseline = drive(plain_url, "plain", theirs, [], f"plain-{kind}", duration)
        mode = "crowd" if kind == "jwt" else "platform"
        tokens_ = visitors[mode]
        measured = drive(f"http://127.0.0.1:{port}", mode, ours, tokens_, kind, duration)
    finally:
        for process in processes:
            process.terminate()
            process.join()
    print(measured.line(f"ceiling {kind}"))
    print(baseline.line("plain FOR UPDATE"))
    ratio = _ratio(scenario, measured, baseline)
    print(f"  {kind}: {ratio:.2f}x the plain server")
    return ratio


def _ratio(scenario: str, ours: Figures, theirs: Figures) -> float:
    if scenario == "slot":
        return ours.created_per_second / max(theirs.created_per_second, 1)
    return ours.requests_per_second / theirs.requests_per_second


def run(duration: float = 8, rounds: int = 3, kinds: tuple[str, ...] = KINDS) -> dict:
    with migrated() as services, plain_server.running(services.database_url) as plain_url:
        visitors = {"platform": tokens(), "crowd": sessions(CROWD)}
        ratios: dict[str, list[float]] = {kind: [] for kind in kinds}
        for _ in range(rounds):
            for kind in kinds:
                ratios[kind].append(_round(kind, services, plain_url, visitors, duration))
        for kind, measured in ratios.items():
            print(
                f"ceiling {kind}: median {statistics.median(measured):.2f}x the plain server"
                f" ({', '.join(f'{r:.2f}' for r in measured)})"
            )
        return {kind: {"median": statistics.median(r), "ratios": r} for kind, r in ratios.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kinds", default=",".join(KINDS))
    args = parser.parse_args()
    run(args.duration, args.rounds, tuple(args.kinds.split(",")))


if __name__ == "__main__":
    main()
