"""The lanes' drainer on a real Redis: it stays on, parked, so that a command that
finds no work in progress is applied at once, without a Dramatiq message; it gives
way to a newer drainer, hands over at the end of its life, sends a helper when more
lanes wait than a batch takes, and ends when its worker stops. The batch it applies
is recorded here (`actors/holds.py` applies it for real, which `test_bookings.py`
covers); the lanes' Redis protocol is the real one."""

import asyncio
import datetime as dt
import threading
import uuid
from collections.abc import AsyncIterator

import dramatiq
import pytest
from redis.asyncio import Redis
from sqlalchemy.exc import DBAPIError

from common import keys
from common.settings import Settings
from domain.commands import Change, Command, HoldCommand
from tests.support import rows
from tests.support.api import Api, token
from tests.support.commands import hold_command
from tests.support.exposure import expose
from web.state import BROKER
from workers import lanes

WAIT_SECONDS = 10


class _Refused(Exception):
    """What asyncpg raises for data Postgres refuses: a NUL in text is SQLSTATE 22021."""

    sqlstate = "22021"


class Recorder:
    """Applies a batch by remembering its commands' ids; a batch holding one of `failing`
    fails with `error` and applies nothing."""

    def __init__(
        self,
        failing: frozenset[str] = frozenset(),
        error: Exception | None = None,
        times: int | None = None,
    ) -> None:
        self.applied: list[str] = []
        self.refused: list[str] = []
        self.batches = 0
        self.failing = failing
        self.error = error or DBAPIError("SELECT", {}, _Refused())
        self.times = times
        """How many batches fail (None: every one holding a failing command)."""

    async def __call__(
        self, holds: list[HoldCommand], changes: list[list[Change]]
    ) -> lanes.Publish:
        self.batches += 1
        ids = [c.command_id for c in holds] + [c.command_id for run in changes for c in run]
        if self.failing & set(ids) and self.times != 0:
            self.times = None if self.times is None else self.times - 1
            raise self.error
        self.applied += ids
        return lambda pipe: None

    def refuse(self, command: Command, error: BaseException) -> lanes.Publish:
        self.refused.append(command.command_id)
        return lambda pipe: None


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


async def _append(client: Redis, command: HoldCommand) -> bool:
    """Queues the command as the web does; whether the web would send a message."""
    async with client.pipeline(transaction=False) as pipe:
        for name, *args in lanes.append("lane-a", command):
            pipe.execute_command(name, *args)
        *_, woken = await pipe.execute()
    return bool(woken)


async def _until(check, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while not check():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.01)


async def _claimed(client: Redis) -> str:
    """The live drainer's claim on the wake key, once it has one."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while (claim := await client.get(keys.DRAIN_WAKE)) is None:
        assert asyncio.get_running_loop().time() < deadline, "no drainer claimed the wake key"
        await asyncio.sleep(0.01)
    return claim


class Drainer:
    """One `lanes.drain` running as a task, with its relays counted and a stop switch."""

    def __init__(self, client: Redis, recorder: Recorder) -> None:
        self.relays = self.helpers = 0
        self.stop = threading.Event()
        drain = lanes.drain(
            client, recorder, recorder.refuse, self._relay, self.stop.is_set, self._helper
        )
        self.task = asyncio.create_task(drain)

    def _relay(self) -> None:
        self.relays += 1

    def _helper(self) -> None:
        self.helpers += 1


async def test_a_parked_drainer_applies_a_new_command_without_a_message(client: Redis) -> None:
    recorder = Recorder()
    drainer = Drainer(client, recorder)
    await _claimed(client)
    await asyncio.sleep(2 * lanes.PARK_SECONDS)  # idle: parked, renewing its claim
    command = hold_command()
    woken = await _append(client, command)
    await _until(lambda: recorder.applied == [command.command_id], "never applied")
    assert not woken
    assert not drainer.task.done()
    drainer.stop.set()
    await asyncio.wait_for(drainer.task, WAIT_SECONDS)


async def test_a_change_queued_behind_a_hold_is_applied_in_the_next_batch(
    client: Redis,
) -> None:
    """A batch takes a lane's holds or its changes, never both: the lane is marked ready
    again when released, so the change does not wait for the scheduler's sweep."""
    recorder = Recorder()
    hold = hold_command()
    change = Change(
        command_id=str(uuid.uuid4()),
        kind="confirm",
        booking_id=hold.booking_id,
        owner="visitor",
        subject="visitor",
        key="k2",
        digest="d2",
        reply_to="replies:test",
    )
    async with client.pipeline(transaction=False) as pipe:
        for command in (hold, change):
            for name, *args in lanes.append("lane-a", command):
                pipe.execute_command(name, *args)
        await pipe.execute()
    drainer = Drainer(client, recorder)
    await _until(lambda: len(recorder.applied) == 2, "the change was never applied")
    assert recorder.applied == [hold.command_id, change.command_id]
    assert recorder.batches == 2
    assert await client.llen(keys.lane("lane-a")) == 0
    drainer.stop.set()
    await asyncio.wait_for(drainer.task, WAIT_SECONDS)


async def test_without_a_live_drainer_the_web_sends_a_message(client: Redis) -> None:
    assert await _append(client, hold_command())
    assert not await _append(client, hold_command())  # one message wakes a drainer for both


async def test_a_newer_drainer_ends_the_older_one(client: Redis) -> None:
    older = Drainer(client, Recorder())
    first = await _claimed(client)
    newer_recorder = Recorder()
    newer = Drainer(client, newer_recorder)
    await asyncio.wait_for(older.task, WAIT_SECONDS)
    command = hold_command()
    await _append(client, command)
    await _until(lambda: newer_recorder.applied == [command.command_id], "never applied")
    assert older.relays == 0
    assert await client.get(keys.DRAIN_WAKE) not in (None, first)
    newer.stop.set()
    await asyncio.wait_for(newer.task, WAIT_SECONDS)


async def test_a_stopping_drainer_lets_its_claim_go_and_relays_what_is_ready(
    client: Redis,
) -> None:
    drainer = Drainer(client, Recorder())
    await _claimed(client)
    drainer.stop.set()
    await client.sadd(keys.READY_LANES, "lane-b")  # arrived as it stopped
    await asyncio.wait_for(drainer.task, WAIT_SECONDS)
    assert await client.exists(keys.DRAIN_WAKE) == 0
    assert drainer.relays == 1


async def test_a_drainer_at_the_end_of_its_life_relays_holding_its_claim(
    client: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lanes, "LIFETIME_SECONDS", 0.2)
    drainer = Drainer(client, Recorder())
    await asyncio.wait_for(drainer.task, WAIT_SECONDS)
    assert drainer.relays == 1
    assert await client.exists(keys.DRAIN_WAKE) == 1  # the web sends nothing meanwhile
    assert not await _append(client, hold_command())


async def test_more_lanes_than_a_batch_takes_send_one_helper(client: Redis) -> None:
    recorder = Recorder()
    commands = [hold_command() for _ in range(lanes.LANES_PER_BATCH + 5)]
    for n, command in enumerate(commands):
        async with client.pipeline(transaction=False) as pipe:
            for name, *args in lanes.append(f"lane-{n}", command):
                pipe.execute_command(name, *args)
            await pipe.execute()
    drainer = Drainer(client, recorder)
    await _until(lambda: len(recorder.applied) == len(commands), "not every lane was applied")
    drainer.stop.set()
    await asyncio.wait_for(drainer.task, WAIT_SECONDS)
    assert drainer.helpers == 1


async def test_a_helper_drains_what_is_ready_and_ends(client: Redis) -> None:
    recorder = Recorder()
    command = hold_command()
    await _append(client, command)
    await asyncio.wait_for(
        lanes.help_drain(client, recorder, recorder.refuse, lambda: None), WAIT_SECONDS
    )
    assert recorder.applied == [command.command_id]
    assert await client.get(keys.DRAIN_WAKE) == "queued"  # a helper claims nothing


async def test_a_command_postgres_refuses_is_answered_and_leaves_its_lane(
    client: Redis,
) -> None:
    first, poison, last = hold_command(), hold_command(), hold_command()
    for command in (first, poison, last):
        await _append(client, command)
    recorder = Recorder(failing=frozenset({poison.command_id}))
    await asyncio.wait_for(
        lanes.help_drain(client, recorder, recorder.refuse, lambda: None), WAIT_SECONDS
    )
    assert recorder.refused == [poison.command_id]
    assert recorder.applied == [first.command_id, last.command_id]
    assert await client.llen(keys.lane("lane-a")) == 0


async def test_a_lone_command_refused_once_is_tried_again_before_it_is_refused(
    client: Redis,
) -> None:
    """As when a second drainer committed it meanwhile: the retry finds its reply."""
    command = hold_command()
    await _append(client, command)
    recorder = Recorder(failing=frozenset({command.command_id}), times=1)
    await asyncio.wait_for(
        lanes.help_drain(client, recorder, recorder.refuse, lambda: None), WAIT_SECONDS
    )
    assert recorder.refused == []
    assert recorder.applied == [command.command_id]


async def test_a_lane_failing_for_any_other_reason_keeps_every_command(client: Redis) -> None:
    commands = [hold_command() for _ in range(3)]
    for command in commands:
        await _append(client, command)
    failing = frozenset({commands[1].command_id})
    recorder = Recorder(failing, ConnectionError("Postgres is down"))
    with pytest.raises(ConnectionError):
        await lanes.help_drain(client, recorder, recorder.refuse, lambda: None)
    assert recorder.refused == []
    assert await client.llen(keys.lane("lane-a")) == 3


async def test_a_hold_after_the_workers_went_quiet_is_answered_without_a_message(
    api: Api, worker: dramatiq.Worker, db, client: Redis
) -> None:
    """Through HTTP and a real worker: the second hold finds the drainer parked."""
    location = await rows.location(db)
    first, second = [
        await rows.slot(db, location, start=rows.SOON + dt.timedelta(hours=n)) for n in range(2)
    ]
    sent: list[str] = []
    counting = _Counting(sent)
    web_broker = api.client.app[BROKER]
    web_broker.add_middleware(counting)
    try:
        for slot in (first, second):
            visitor = token(["user"])
            await expose(api, db, visitor, slot)
            body = {"slot_id": str(slot), "customer": {"name": "Ann", "phone": "+971501234567"}}
            await asyncio.sleep(2 * lanes.PARK_SECONDS)  # the workers go quiet
            held = await api.post("/v1/bookings", token=visitor, json=body)
            assert held.status == 201, held.json
    finally:
        web_broker.middleware.remove(counting)
    assert sent.count("drain_lanes") == 1


class _Counting(dramatiq.Middleware):
    """Counts the messages sent through the broker, by actor."""

    def __init__(self, sent: list[str]) -> None:
        self.sent = sent

    def before_enqueue(self, broker, message, delay):
        self.sent.append(message.actor_name)
