"""Which failures mean "a dependency is down" (503 UNAVAILABLE) rather than a bug (500)."""

import asyncpg.exceptions
import sqlalchemy.exc

from web.middlewares import is_unavailable


def _through_sqlalchemy(error: Exception) -> sqlalchemy.exc.DBAPIError:
    """As the engine raises it: a DBAPIError caused by the driver's error."""
    wrapped = sqlalchemy.exc.DBAPIError("connect", None, error)
    wrapped.__cause__ = error
    return wrapped


def test_postgres_out_of_connections_is_unavailable() -> None:
    error = asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already")
    assert is_unavailable(_through_sqlalchemy(error))


def test_postgres_starting_up_is_unavailable() -> None:
    error = asyncpg.exceptions.CannotConnectNowError("the database system is starting up")
    assert is_unavailable(_through_sqlalchemy(error))


def test_a_refused_query_is_not_unavailable() -> None:
    error = asyncpg.exceptions.UniqueViolationError("duplicate key value")
    assert not is_unavailable(_through_sqlalchemy(error))


def test_a_bug_is_not_unavailable() -> None:
    assert not is_unavailable(ValueError("oops"))
