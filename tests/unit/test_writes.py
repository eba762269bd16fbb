"""Writes sent together: one statement, each parameter named by one write only."""

import pytest

from db import writes


def test_writes_go_as_one_statement_every_write_but_the_last_a_with_clause() -> None:
    statement = writes._statement(("INSERT INTO a VALUES (1)", "UPDATE b SET c = 2"))
    assert statement.text == "WITH w0 AS (INSERT INTO a VALUES (1)) UPDATE b SET c = 2"


def test_one_write_goes_as_it_is() -> None:
    assert writes._statement(("UPDATE b SET c = 2",)).text == "UPDATE b SET c = 2"


async def test_writes_that_share_a_parameter_name_are_refused_before_anything_is_sent() -> None:
    first = writes.Write("INSERT INTO a VALUES (:n)", {"n": 1})
    second = writes.Write("INSERT INTO b VALUES (:n)", {"n": 2})
    with pytest.raises(ValueError, match="share parameter names"):
        await writes.run(None, [first, second])  # type: ignore[arg-type]  # never reached
