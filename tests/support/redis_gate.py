"""A TCP proxy in front of the test Redis that can stop answering, like a Redis that hung.

Stalled, it still accepts connections and reads what clients send, but forwards
nothing either way: the client sees a server that never answers. Resumed, it
forwards again, so a test can watch the platform recover by itself.
"""

import asyncio
import contextlib

from redis.connection import parse_url


class RedisGate:
    def __init__(self, redis_url: str) -> None:
        options = parse_url(redis_url)
        self._upstream = (options.get("host", "localhost"), options.get("port", 6379))
        self._db = options.get("db", 0)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.stalled = False

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}/{self._db}"

    async def start(self) -> "RedisGate":
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            await self._server.wait_closed()

    def stall(self) -> None:
        self.stalled = True

    def resume(self) -> None:
        self.stalled = False

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._writers -= {writer, up_writer}

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                if not self.stalled:
                    writer.write(data)
                    await writer.drain()
        writer.close()
