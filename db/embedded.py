"""An embedded Postgres (`pgserver`) for `make run` on a machine without one."""

from pathlib import Path
from typing import Any


def start(folder: Path, database: str) -> tuple[Any, str]:
    """Starts (or reuses) the server kept in `folder`, with `database` created once.

    Returns the server (hold on to it while the platform runs) and the database's URL.
    """
    import pgserver

    server = pgserver.get_server(folder, cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {database};")
    return server, server.get_uri(database)
