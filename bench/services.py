"""What a benchmark runs on: Postgres and Redis found or started as for the tests, and
the processes it starts itself."""

import contextlib
import socket
import time
from collections.abc import Iterator

from db.migrate import upgrade
from tests.support.services import Services


@contextlib.contextmanager
def migrated() -> Iterator[Services]:
    """A database of its own with the schema at head, and a Redis db index of its own;
    both dropped on the way out, whatever the benchmark did."""
    services = Services()
    services.start()
    try:
        upgrade(services.database_url)
        yield services
    finally:
        services.stop()


def wait_listening(port: int, timeout: float = 20) -> None:
    """Returns once something accepts connections on 127.0.0.1:`port`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), 1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on port {port}") from None
            time.sleep(0.05)
