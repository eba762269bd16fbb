"""Serving the HTTP API from `WEB_PROCESSES` processes (default: one per CPU).

Python runs one request at a time per process, so one process per core is what
lets the front use the machine. The processes share the port (`SO_REUSEPORT`,
the kernel spreads connections) and, with the workers of this host, a metrics
folder (common/metrics_folder.py), so `/metrics` from any of them counts all.
This process only supervises: it restarts a server that died and stops them all
on SIGTERM or SIGINT. Every process stops when its supervisor dies
(common/lifeline.py).
"""

import gc
import logging
import multiprocessing
import signal
import time

import structlog
import uvloop
from aiohttp import web, web_response
from aiohttp.http_exceptions import HttpProcessingError

from common.lifeline import stop_with_parent, stop_with_supervisor
from common.logging import configure_logging
from common.settings import get_settings
from db.engine import ping
from web.app import create_app, require_settings
from web.middlewares import is_unavailable
from web.state import ENGINE, SHARED_REDIS

SUPERVISE_SECONDS = 0.5
SERVER_NAME = "general-scheduler"
_log = structlog.get_logger("web.server")


class ClientFaults(logging.Filter):
    """Turns aiohttp's traceback for a request it could not parse into one INFO line.

    aiohttp answers a request line, header or body encoding it cannot parse with a
    plain 400 itself, then logs the parser's exception at ERROR with a traceback
    through `aiohttp.server`: one per request, so any client could fill the log.
    The fault is the client's and the answer is already sent; errors of the server
    itself keep their level and traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        fault = record.exc_info[1] if record.exc_info else None
        if record.levelno <= logging.INFO or not isinstance(
            fault, HttpProcessingError | web.RequestPayloadError
        ):
            return True
        _log.info("http_request_rejected", reason=" ".join(str(fault).split())[:200])
        return False


async def _warm_up(app: web.Application) -> None:
    """Connects to Postgres and Redis before the first request rather than during a rush.

    A dependency that is down is not an error here: `/readyz` reports it, and the
    request that needs it gets 503 until it is back.
    """
    try:
        await ping(app[ENGINE])
        await app[SHARED_REDIS].execute("PING")
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        _log.warning("warm_up_skipped", error=type(exc).__name__)


async def _freeze_startup_objects(_app: web.Application) -> None:
    """Moves what startup built out of the collector's sight.

    Every full collection would otherwise walk the whole heap of imported modules
    and connections: in a rush that pause, tens of milliseconds, is the p99.
    """
    gc.collect()
    gc.freeze()


def serve() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    logging.getLogger("aiohttp.server").addFilter(ClientFaults())
    # aiohttp names itself and Python, with versions, in every reply, even the
    # replies its parser writes before any middleware could change a header.
    web_response.SERVER_SOFTWARE = SERVER_NAME
    app = create_app(settings)
    app.on_startup.append(_warm_up)
    app.on_startup.append(_freeze_startup_objects)
    web.run_app(
        app,
        host=settings.http_host,
        port=settings.http_port,
        access_log=None,
        reuse_port=True,
        print=None,
        loop=uvloop.new_event_loop(),
    )


def _serve_supervised() -> None:
    stop_with_parent()
    serve()


def _start() -> multiprocessing.Process:
    process = multiprocessing.get_context("spawn").Process(target=_serve_supervised, name="web")
    process.start()
    return process


def supervise(count: int) -> None:
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    servers = [_start() for _ in range(count)]
    while not stopping:
        time.sleep(SUPERVISE_SECONDS)
        servers = [server if server.is_alive() else _start() for server in servers]
    for server in servers:
        server.terminate()
    for server in servers:
        server.join(10)


def main() -> None:
    settings = get_settings()
    require_settings(settings)
    stop_with_supervisor()
    if settings.web_processes == 1:
        serve()
    else:
        supervise(settings.web_processes)
