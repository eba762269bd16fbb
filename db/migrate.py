"""Applies Alembic migrations; used by `make run`, the CLI and the test suite."""

from pathlib import Path

from alembic import command
from alembic.config import Config

_INI = Path(__file__).with_name("alembic.ini")


def upgrade(database_url: str, revision: str = "head") -> None:
    config = Config(str(_INI))
    config.attributes["database_url"] = database_url
    command.upgrade(config, revision)
