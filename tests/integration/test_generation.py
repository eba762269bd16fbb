"""Reconciling slots with rules in each of its ways: first run, re-run, and changes in between."""

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from common.ids import new_id
from common.settings import Settings
from db.engine import create_engine
from db.generation import Result, reconcile
from tests.support import rows

MONDAY = dt.date(2030, 1, 7)
FRIDAY = MONDAY + dt.timedelta(days=4)
# 09:00-12:00 UTC every 30 minutes: six slots a day, thirty a working week.
MORNINGS = 30


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database_url, pool_size=2)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _rule(
    db: asyncpg.Connection,
    location: uuid.UUID,
    *,
    kind: str = "WEEKLY",
    hours: tuple[int, int] = (9, 12),
    person: uuid.UUID | None = None,
    day: dt.date | None = None,
    closed: bool = False,
) -> uuid.UUID:
    rule_id = new_id()
    await db.execute(
        "INSERT INTO availability_rules (id, location_id, person_id, rule_kind, days_of_week,"
        " start_minute, end_minute, slot_granularity_minutes, slot_duration_minutes,"
        " valid_from, valid_to, is_closed) VALUES ($1, $2, $3, $4, $5, $6, $7, 30, 30, $8, $8, $9)",
        rule_id, location, person, kind, None if day else [1, 2, 3, 4, 5],
        hours[0] * 60, hours[1] * 60, day, closed,
    )  # fmt: skip
    return rule_id


async def _reconcile(
    engine: AsyncEngine, location: uuid.UUID, person: uuid.UUID | None = None
) -> Result:
    async with engine.begin() as conn:
        return await reconcile(conn, location, person, MONDAY, FRIDAY)


async def _statuses(db: asyncpg.Connection) -> list[str]:
    found = await db.fetch("SELECT status FROM slot_instances ORDER BY start_at, person_id")
    return [r["status"] for r in found]


async def test_first_run_creates_every_slot(engine: AsyncEngine, db: asyncpg.Connection) -> None:
    location = await rows.location(db, "UTC")
    await _rule(db, location)
    assert await _reconcile(engine, location) == Result(MORNINGS, 0, 0, 0)
    stored = await db.fetch("SELECT start_at, end_at, capacity FROM slot_instances")
    assert len({r["start_at"] for r in stored}) == MORNINGS
    assert all(r["end_at"] - r["start_at"] == dt.timedelta(minutes=30) for r in stored)


async def test_rerun_with_nothing_to_do_writes_nothing(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    location = await rows.location(db, "UTC")
    await _rule(db, location)
    await _reconcile(engine, location)
    before = await db.fetch("SELECT id, version, updated_at FROM slot_instances ORDER BY id")
    assert await _reconcile(engine, location) == Result(0, MORNINGS, 0, 0)
    assert (
        await db.fetch("SELECT id, version, updated_at FROM slot_instances ORDER BY id") == before
    )


async def test_rerun_counts_a_blocked_slot_with_a_booking_as_a_conflict(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    location = await rows.location(db, "UTC")
    await _rule(db, location)
    await _reconcile(engine, location)
    evening = dt.datetime.combine(MONDAY, dt.time(18), dt.UTC)
    slot = await rows.slot(db, location, start=evening, status="blocked")
    await db.execute("UPDATE slot_instances SET booked = 1 WHERE id = $1", slot)
    assert await _reconcile(engine, location) == Result(0, MORNINGS, 0, 1)


async def test_new_rule_adds_only_the_missing_slots(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    location = await rows.location(db, "UTC")
    await _rule(db, location)
    await _reconcile(engine, location)
    await _rule(db, location, kind="EXCEPTION", hours=(14, 15), day=MONDAY)
    assert await _reconcile(engine, location) == Result(2, MORNINGS, 0, 0)


async def test_rerun_reopens_blocked_slots_the_rules_cover(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    location = await rows.location(db, "UTC")
    await _rule(db, location)
    await _reconcile(engine, location)
    await db.execute("UPDATE slot_instances SET status = 'blocked' WHERE start_at::time >= '10:00'")
    assert await _reconcile(engine, location) == Result(0, MORNINGS, 0, 0)
    assert set(await _statuses(db)) == {"open"}


async def test_slot_dated_outside_the_range_keeps_its_start(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    location = await rows.location(db, "UTC")
    await _rule(db, location)
    nine = dt.datetime.combine(MONDAY, dt.time(9), dt.UTC)
    kept = await rows.slot(db, location, start=nine)
    await db.execute("UPDATE slot_instances SET date = $1", MONDAY - dt.timedelta(days=1))
    assert await _reconcile(engine, location) == Result(MORNINGS - 1, 1, 0, 0)
    assert await db.fetchval("SELECT id FROM slot_instances WHERE start_at = $1", nine) == kept


async def test_persons_first_run_leaves_other_owners_alone(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    location = await rows.location(db, "UTC")
    await _rule(db, location)
    await _reconcile(engine, location)
    person = await rows.person(db, location)
    await _rule(db, location, person=person, hours=(13, 14))
    assert await _reconcile(engine, location, person) == Result(10, 0, 0, 0)
    assert await db.fetchval("SELECT count(*) FROM slot_instances") == MORNINGS + 10


async def test_runs_for_one_location_take_turns(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    location = await rows.location(db, "UTC")
    await _rule(db, location)
    results = await asyncio.gather(_reconcile(engine, location), _reconcile(engine, location))
    assert sorted(r.created for r in results) == [0, MORNINGS]


async def test_change_for_one_person_leaves_the_others_slots_untouched(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    location = await rows.location(db, "UTC")
    changed, other = await rows.person(db, location), await rows.person(db, location)
    for person in (changed, other):
        await _rule(db, location, person=person)
    await _reconcile(engine, location)
    await _rule(
        db, location, person=changed, kind="EXCEPTION", hours=(10, 11), day=MONDAY, closed=True
    )
    assert await _reconcile(engine, location) == Result(0, 2 * MORNINGS - 2, 2, 0)
    touched = await db.fetch("SELECT DISTINCT person_id FROM slot_instances WHERE version > 0")
    assert [r["person_id"] for r in touched] == [changed]


async def test_inactive_persons_open_slots_are_blocked(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    location = await rows.location(db, "UTC")
    person = await rows.person(db, location)
    await _rule(db, location, person=person)
    await _reconcile(engine, location)
    await db.execute("UPDATE people SET active = false WHERE id = $1", person)
    assert await _reconcile(engine, location) == Result(0, 0, MORNINGS, 0)


async def test_conflicts_of_settled_and_changed_owners_add_up(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    location = await rows.location(db, "UTC")
    person = await rows.person(db, location)
    await _rule(db, location)
    await _reconcile(engine, location)
    evening = dt.datetime.combine(MONDAY, dt.time(18), dt.UTC)
    for owner in (None, person):
        slot = await rows.slot(db, location, person_id=owner, start=evening, status="blocked")
        await db.execute("UPDATE slot_instances SET booked = 1 WHERE id = $1", slot)
    await _rule(db, location, person=person)
    assert await _reconcile(engine, location) == Result(MORNINGS, MORNINGS, 0, 2)


async def test_an_inactive_location_gets_no_slots_until_it_is_active_again(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    location = await rows.location(db, "UTC")
    person = await rows.person(db, location)
    await _rule(db, location)
    await _rule(db, location, person=person)
    await db.execute("UPDATE locations SET active = false WHERE id = $1", location)
    assert await _reconcile(engine, location) == Result(0, 0, 0, 0)
    assert await db.fetchval("SELECT count(*) FROM slot_instances") == 0
    await db.execute("UPDATE locations SET active = true WHERE id = $1", location)
    assert await _reconcile(engine, location) == Result(2 * MORNINGS, 0, 0, 0)
    await db.execute("UPDATE locations SET active = false WHERE id = $1", location)
    await db.execute("UPDATE slot_instances SET status = 'blocked'")
    assert await _reconcile(engine, location) == Result(0, 0, 0, 0)
    assert set(await _statuses(db)) == {"blocked"}
