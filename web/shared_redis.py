"""Redis calls of the hot path, multiplexed over one connection per web process.

redis-py spends about 80 µs of CPU on every call (pool checkout, retry wrapper,
command packing, parsing), more than the rest of a refused hold. Redis answers a
connection's commands in order, so every request of the process can share one:
a call queues its command and waits for the reply in its turn, and the commands
of one loop turn leave in one write. hiredis packs and parses.

Only what the hot path needs is here (commands and scripts); everything else
uses redis-py. A lost connection fails the calls waiting on it with
`ConnectionError` (the web answers 503) and the next call connects again.

No call waits longer than the timeout (`REDIS_TIMEOUT_SECONDS`) for its reply, nor
for a connection: a Redis that accepts and never answers must cost a request 503,
not hang it. A reply overdue drops the whole connection, since the replies still
to come could no longer be matched with their calls; every call waiting on it
fails with `TimeoutError`, and the next call connects again.
"""

import asyncio
import hashlib
from collections import deque
from typing import Any

import hiredis
from redis.connection import parse_url
from redis.exceptions import ResponseError


class Script:
    """A Lua script called by its SHA1, sent whole when Redis does not know it (yet)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()


class _Connection(asyncio.Protocol):
    """Matches each reply read from the connection with the call waiting for it.

    Commands sent in one turn of the event loop leave in one write: a system call
    per command would cost more than the rest of the call. Replies come in order,
    so one timer, set for the oldest call's deadline, watches every call.
    """

    def __init__(self, timeout: float) -> None:
        self.reader = hiredis.Reader(encoding="utf-8")
        self.waiting: deque[tuple[asyncio.Future[Any], float]] = deque()
        self.transport: asyncio.WriteTransport | None = None
        self._timeout = timeout
        self._outgoing: list[bytes] = []
        self._watchdog: asyncio.TimerHandle | None = None

    def send(self, packed: bytes, future: asyncio.Future[Any]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        self.waiting.append((future, deadline))
        if self._watchdog is None:
            self._watchdog = loop.call_at(deadline, self._check_overdue)
        if not self._outgoing:
            loop.call_soon(self._flush)
        self._outgoing.append(packed)

    def _flush(self) -> None:
        if self.transport is not None:
            self.transport.write(b"".join(self._outgoing))
        self._outgoing.clear()

    def _check_overdue(self) -> None:
        self._watchdog = None
        if not self.waiting:
            return
        loop = asyncio.get_running_loop()
        deadline = self.waiting[0][1]
        if loop.time() < deadline:
            self._watchdog = loop.call_at(deadline, self._check_overdue)
            return
        if self.transport is not None:
            self.transport.abort()
        self.transport = None
        self._fail_waiting(TimeoutError("Redis did not answer in time"))

    def _fail_waiting(self, error: Exception) -> None:
        while self.waiting:
            future, _ = self.waiting.popleft()
            if not future.done():
                future.set_exception(error)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            future, _ = self.waiting.popleft()
            if not future.done():
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        self._fail_waiting(ConnectionError("the Redis connection was lost"))


class SharedRedis:
    def __init__(self, url: str, timeout: float = 1.0) -> None:
        self._options = parse_url(url)
        self._timeout = timeout
        self._replies: _Connection | None = None
        self._connecting: asyncio.Future[_Connection] | None = None

    async def execute(self, *command: str | int | float) -> Any:
        replies = await self._connection()
        return await self._send(replies, command)

    async def execute_many(self, *commands: tuple[str | int | float, ...]) -> list[Any]:
        """Several commands in one write; their replies, in order."""
        replies = await self._connection()
        return list(await asyncio.gather(*(self._send(replies, c) for c in commands)))

    async def run(self, script: Script, keys: list[str], args: list[str | int | float]) -> Any:
        try:
            return await self.execute("EVALSHA", script.sha, len(keys), *keys, *args)
        except ResponseError as error:
            if not str(error).startswith("NOSCRIPT"):
                raise
        return await self.execute("EVAL", script.source, len(keys), *keys, *args)

    async def close(self) -> None:
        if self._replies is not None and self._replies.transport is not None:
            self._replies.transport.close()

    def _send(self, replies: _Connection, command: tuple[str | int | float, ...]) -> Any:
        if replies.transport is None:
            raise ConnectionError("the Redis connection was lost")
        future = asyncio.get_running_loop().create_future()
        replies.send(hiredis.pack_command(command), future)
        return _checked(future)

    async def _connection(self) -> _Connection:
        """The open connection, or the one being opened: callers meanwhile share one attempt,
        so a Redis that does not answer costs each of them one timeout, not one each in turn."""
        if self._replies is not None and self._replies.transport is not None:
            return self._replies
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._connect())
            self._connecting.add_done_callback(self._connected)
        return await asyncio.shield(self._connecting)

    def _connected(self, attempt: asyncio.Future[_Connection]) -> None:
        self._connecting = None
        if not attempt.cancelled() and attempt.exception() is None:
            self._replies = attempt.result()

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        options = self._options
        async with asyncio.timeout(self._timeout):
            if "path" in options:
                _, replies = await loop.create_unix_connection(
                    lambda: _Connection(self._timeout), options["path"]
                )
            else:
                _, replies = await loop.create_connection(
                    lambda: _Connection(self._timeout),
                    options.get("host", "localhost"),
                    options.get("port", 6379),
                )
            try:
                if options.get("password"):
                    auth = [options["username"]] if options.get("username") else []
                    await self._send(replies, ("AUTH", *auth, options["password"]))
                if options.get("db"):
                    await self._send(replies, ("SELECT", options["db"]))
            except BaseException:
                if replies.transport is not None:
                    replies.transport.abort()
                raise
        return replies


async def _checked(future: asyncio.Future[Any]) -> Any:
    reply = await future
    if isinstance(reply, hiredis.ReplyError):
        raise ResponseError(str(reply))
    return reply
