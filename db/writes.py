"""Several writes sent to Postgres as one statement: one round trip instead of one each.

A batch of holds writes bookings, stored replies, counters and events. Each is a
`Write`, a data-modifying statement with parameters named for it alone; `run`
sends them as one statement, every write but the last a `WITH` clause. Postgres
runs them all to completion, against one snapshot and in no given order, so only
writes that neither read nor touch each other's rows may go together.
"""

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class Write:
    sql: str
    params: dict[str, Any]


async def run(conn: AsyncConnection, writes: list[Write]) -> None:
    """Runs the writes as one statement (nothing when there are none)."""
    if not writes:
        return
    params: dict[str, Any] = {}
    for write in writes:
        if params.keys() & write.params.keys():
            raise ValueError(f"writes share parameter names: {params.keys() & write.params.keys()}")
        params |= write.params
    await conn.execute(_statement(tuple(w.sql for w in writes)), params)


@functools.cache
def _statement(sqls: tuple[str, ...]) -> TextClause:
    """One statement per combination of writes (a handful), built once."""
    *first, last = sqls
    if not first:
        return text(last)
    return text("WITH " + ", ".join(f"w{i} AS ({sql})" for i, sql in enumerate(first)) + " " + last)
