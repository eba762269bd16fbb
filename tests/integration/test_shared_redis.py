"""The hot path's shared Redis connection: every caller gets its own reply, in any rush."""

import asyncio

import pytest
import redis
from redis.exceptions import ResponseError

from common.settings import Settings
from web.shared_redis import Script, SharedRedis


@pytest.fixture
async def shared(settings: Settings):
    connection = SharedRedis(settings.redis_url)
    yield connection
    await connection.close()


async def test_concurrent_calls_each_get_their_own_reply(shared: SharedRedis) -> None:
    await asyncio.gather(*(shared.execute("SET", f"k{i}", f"v{i}") for i in range(300)))
    values = await asyncio.gather(*(shared.execute("GET", f"k{i}") for i in range(300)))
    assert values == [f"v{i}" for i in range(300)]


async def test_execute_many_answers_in_order(shared: SharedRedis) -> None:
    replies = await shared.execute_many(("SET", "a", "1"), ("INCR", "a"), ("GET", "a"))
    assert replies == ["OK", 2, "2"]


async def test_a_script_redis_forgot_is_sent_again(shared: SharedRedis, settings: Settings) -> None:
    script = Script("return ARGV[1] .. KEYS[1]")
    assert await shared.run(script, ["k"], ["x"]) == "xk"
    redis.Redis.from_url(settings.redis_url).script_flush()
    assert await shared.run(script, ["k"], ["y"]) == "yk"


async def test_an_error_reply_raises_and_the_connection_keeps_serving(
    shared: SharedRedis,
) -> None:
    await shared.execute("SET", "text", "abc")
    with pytest.raises(ResponseError):
        await shared.execute("INCR", "text")
    assert await shared.execute("GET", "text") == "abc"


async def test_a_lost_connection_fails_its_callers_and_the_next_call_reconnects(
    shared: SharedRedis, settings: Settings
) -> None:
    await shared.execute("CLIENT", "SETNAME", "shared-under-test")
    waiting = asyncio.ensure_future(shared.execute("BLPOP", "never", 5))
    await asyncio.sleep(0)
    _kill(settings, "shared-under-test")
    with pytest.raises(ConnectionError):
        await waiting
    assert await shared.execute("PING") == "PONG"


def _kill(settings: Settings, name: str) -> None:
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    for connection in client.client_list():
        if connection["name"] == name:
            client.execute_command("CLIENT", "KILL", "ID", connection["id"])
