"""Telling data Postgres will never take from a Postgres that is down."""

from sqlalchemy.exc import DBAPIError

_DATA_CLASSES = ("22", "23")
"""SQLSTATE classes: data exception, integrity constraint violation."""


def rejected_data(error: BaseException) -> bool:
    """Whether Postgres refused the data it was sent, which it would refuse on every try."""
    if not isinstance(error, DBAPIError):
        return False
    state = getattr(error.orig, "sqlstate", None)
    return isinstance(state, str) and state[:2] in _DATA_CLASSES
