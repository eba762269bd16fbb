"""Locking a batch's slots reads those slots and their neighbours, not the table."""

import datetime as dt
import json

import asyncpg
import pytest

from common.ids import new_id
from db import slots
from tests.support import rows


def _plan_nodes(plan: dict) -> list[dict]:
    return [plan, *(node for child in plan.get("Plans", []) for node in _plan_nodes(child))]


@pytest.mark.parametrize("hops", [1, 2])
async def test_locking_a_slot_does_not_walk_every_slot(db: asyncpg.Connection, hops: int) -> None:
    """Also with a buffer, and with the neighbours' neighbours (what frees a place locks)."""
    location = await rows.location(db)
    await rows.policy(db, location, buffer_minutes=30)
    person = await rows.person(db, location)
    start = rows.SOON
    await db.copy_records_to_table(
        "slot_instances",
        records=[
            (new_id(), location, person, start.date(), at, at + dt.timedelta(minutes=30), 1)
            for at in (start + dt.timedelta(minutes=15 * i) for i in range(5_000))
        ],
        columns=["id", "location_id", "person_id", "date", "start_at", "end_at", "capacity"],
    )
    await db.execute("ANALYZE slot_instances")
    wanted = await db.fetchval("SELECT id FROM slot_instances ORDER BY start_at LIMIT 1 OFFSET 9")
    query = slots._LOCKS[hops].text.replace(
        ":ids", "$1::uuid[]"
    )  # the statement lock_with_neighbours runs
    async with db.transaction():
        explained = await db.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {query}", [wanted])
    nodes = _plan_nodes(json.loads(explained)[0]["Plan"])
    examined = sum(n.get("Actual Rows", 0) + n.get("Rows Removed by Filter", 0) for n in nodes)
    # Of 5,000 slots: a few dozen rows, and every node of the second ring's plan counts again.
    bound = 100 if hops == 1 else 300
    assert examined < bound, f"the lock read {examined} rows for one slot and its neighbours"
