"""Outcomes from the workers, handed to the request that waits for them.

Each web process subscribes to a Redis channel of its own and names it in every
command it queues; the worker publishes the command's outcome there and stores
it under the request's Idempotency-Key (replacing the web's claim or 202). One
subscription per process replaces a blocking Redis call (and a connection) per
waiting request. An outcome published while the subscription is down reaches no
one: the request answers 202 after `BOOKING_WAIT_SECONDS` and the client polls,
as after a slow worker. Nothing is lost, since the outcome is also stored.
"""

import asyncio
import contextlib
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
import redis.exceptions
import structlog
from redis.asyncio import Redis

from common import keys, stored_replies
from common.pii import PiiKeys
from common.stored_replies import StoredReply
from domain.commands import Command
from domain.outcomes import Outcome

RECONNECT_SECONDS = 0.2
SUBSCRIBE_WAIT_SECONDS = 2
_log = structlog.get_logger("workers.outcomes")


def encode(outcomes: list[tuple[str, dict[str, Any]]]) -> bytes:
    """The pub/sub message carrying outcomes (`Outcome.to_json`) to their requests, by
    command id: a batch sends one message to each web process, not one per command."""
    return orjson.dumps([{"id": command_id, "outcome": body} for command_id, body in outcomes])


def decode(data: str | bytes) -> list[tuple[str, dict[str, Any]]]:
    """The outcomes a message carries, by command id (bodies as `Outcome.to_json` made them)."""
    message = orjson.loads(data)
    if isinstance(message, dict):  # one outcome, as workers of the previous release send it
        message = [message]
    return [(item["id"], item["outcome"]) for item in message]


def deliver(
    pipe: Any, pii: PiiKeys, delivered: Sequence[tuple[Command, Outcome]], ttl_seconds: int
) -> None:
    """Stores each outcome for replays and hands it to its waiting request, in `pipe`."""
    by_channel: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for command, outcome in delivered:
        body = outcome.to_json()
        record = stored_replies.record(pii, StoredReply(command.digest, None, body))
        pipe.set(keys.idempotency(command.subject, command.key), record, ex=ttl_seconds)
        by_channel.setdefault(command.reply_to, []).append((command.command_id, body))
    for channel, outcomes in by_channel.items():
        pipe.publish(channel, encode(outcomes))


class OutcomeChannel:
    """One web process's channel: requests wait here for their command's outcome."""

    def __init__(self, redis: Redis) -> None:
        self.name = keys.outcome_channel(str(uuid.uuid4()))
        self._redis = redis
        self._waiting: dict[str, asyncio.Future[Outcome]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        """Subscribes before the first request can queue a command (Redis permitting)."""
        self._listener = asyncio.create_task(self._listen())
        try:
            async with asyncio.timeout(SUBSCRIBE_WAIT_SECONDS):
                await self._subscribed.wait()
        except TimeoutError:
            _log.warning("outcome_channel_not_subscribed_yet", channel=self.name)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener

    @contextlib.contextmanager
    def expecting(self, command_id: str) -> Iterator[asyncio.Future[Outcome]]:
        """Registers interest before the command is sent, so no outcome can slip past."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting[command_id] = future
        try:
            yield future
        finally:
            self._waiting.pop(command_id, None)

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self.name)
                    self._subscribed.set()
                    async for message in pubsub.listen():
                        self._resolve(message["data"])
            except (OSError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                _log.warning("outcome_channel_disconnected", channel=self.name)
                await asyncio.sleep(RECONNECT_SECONDS)

    def _resolve(self, data: str) -> None:
        for command_id, body in decode(data):
            future = self._waiting.get(command_id)
            if future is not None and not future.done():
                future.set_result(Outcome.from_json(body))


async def within(future: asyncio.Future[Outcome], seconds: float) -> Outcome | None:
    """The outcome if it arrives in time, else None (the caller answers 202)."""
    try:
        async with asyncio.timeout(seconds):
            return await future
    except TimeoutError:
        return None
