"""An HTTP endpoint on 127.0.0.1 that records what it is sent: a webhook receiver, or an
SMS or WhatsApp provider, for tests and benchmarks.

It runs its own event loop in a thread, so the platform (in this process or in
subprocesses) calls it over a real socket. `answer` decides each reply's status
from what came (500 to a first attempt, say); `stop()` closes the port, so calls
are refused, and `start()` opens it again on the same port.
"""

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from multidict import CIMultiDict

from tests.support.platform import free_port


@dataclass(frozen=True)
class Received:
    headers: CIMultiDict[str]
    """Case-insensitive, as HTTP headers are."""
    body: bytes
    status: int
    """What the receiver answered."""
    at: float
    """`time.monotonic()` when it arrived."""


Answer = Callable[[CIMultiDict[str], bytes, list[Received]], int]
"""Decides the status from the request's headers, its body and what came before it."""


def always_ok(headers: CIMultiDict[str], body: bytes, before: list[Received]) -> int:
    return 200


class Receiver:
    def __init__(self, answer: Answer = always_ok, delay_seconds: float = 0) -> None:
        self.answer = answer
        self.delay_seconds = delay_seconds
        self.port = free_port()
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> "Receiver":
        if not self._thread.is_alive():
            self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
            self._runner = None

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> "Receiver":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def wait_for(self, done: Callable[[list[Received]], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not done(self.snapshot()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"receiver saw {len(self.snapshot())} requests, not enough")
            time.sleep(0.05)

    async def _open(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        headers = CIMultiDict(request.headers)
        with self._lock:
            status = self.answer(headers, body, list(self.received))
            self.received.append(Received(headers, body, status, time.monotonic()))
        return web.Response(status=status, text="ok" if status < 300 else "no")
