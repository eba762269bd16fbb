"""Redis calls of the hot path, multiplexed over one connection per web process.

redis-py spends about 80 µs of CPU on every call (pool checkout, retry wrapper,
command packing, parsing), more than the rest of a refused hold. Redis answers a
connection's commands in order, so every request of the process can share one:
a call queues its command and waits for the reply in its turn, and the commands
of one loop turn leave in one write. hiredis packs and parses.

Only what the hot path needs is here (commands and scripts); everything else
uses redis-py. A lost connection fails the calls waiting on it with
`ConnectionError` (the web answers 503) and the next call connects again.
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


class _Replies(asyncio.Protocol):
    """Matches each reply read from the connection with the call waiting for it.

    Commands sent in one turn of the event loop leave in one write: a system call
    per command would cost more than the rest of the call.
    """

    def __init__(self) -> None:
        self.reader = hiredis.Reader(encoding="utf-8")
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.transport: asyncio.WriteTransport | None = None
        self._outgoing: list[bytes] = []

    def send(self, packed: bytes, future: asyncio.Future[Any]) -> None:
        self.waiting.append(future)
        if not self._outgoing:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outgoing.append(packed)

    def _flush(self) -> None:
        if self.transport is not None:
            self.transport.write(b"".join(self._outgoing))
        self._outgoing.clear()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            future = self.waiting.popleft()
            if not future.done():
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(ConnectionError("the Redis connection was lost"))


class SharedRedis:
    def __init__(self, url: str) -> None:
        self._options = parse_url(url)
        self._replies: _Replies | None = None
        self._connecting = asyncio.Lock()

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

    def _send(self, replies: _Replies, command: tuple[str | int | float, ...]) -> Any:
        if replies.transport is None:
            raise ConnectionError("the Redis connection was lost")
        future = asyncio.get_running_loop().create_future()
        replies.send(hiredis.pack_command(command), future)
        return _checked(future)

    async def _connection(self) -> _Replies:
        if self._replies is not None and self._replies.transport is not None:
            return self._replies
        async with self._connecting:
            if self._replies is None or self._replies.transport is None:
                self._replies = await self._connect()
        return self._replies

    async def _connect(self) -> _Replies:
        loop = asyncio.get_running_loop()
        options = self._options
        if "path" in options:
            _, replies = await loop.create_unix_connection(_Replies, options["path"])
        else:
            _, replies = await loop.create_connection(
                _Replies, options.get("host", "localhost"), options.get("port", 6379)
            )
        if options.get("password"):
            auth = [options["username"]] if options.get("username") else []
            await self._send(replies, ("AUTH", *auth, options["password"]))
        if options.get("db"):
            await self._send(replies, ("SELECT", options["db"]))
        return replies


async def _checked(future: asyncio.Future[Any]) -> Any:
    reply = await future
    if isinstance(reply, hiredis.ReplyError):
        raise ResponseError(str(reply))
    return reply
