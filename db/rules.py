"""Availability rules: loading them as domain rules, and storing new ones race-free."""

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.rules import Rule

COLUMNS = (
    "id, location_id, person_id, rule_kind, days_of_week, start_minute, end_minute,"
    " slot_capacity, slot_granularity_minutes, slot_duration_minutes, valid_from, valid_to,"
    " is_closed"
)


def as_rule(row: Any) -> Rule:
    return Rule(
        kind=row.rule_kind,
        start_minute=row.start_minute,
        end_minute=row.end_minute,
        days_of_week=frozenset(row.days_of_week) if row.days_of_week else None,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        capacity=row.slot_capacity,
        granularity=row.slot_granularity_minutes,
        duration=row.slot_duration_minutes,
        is_closed=row.is_closed,
        person_id=row.person_id,
    )


async def location_rules(conn: AsyncConnection, location_id: uuid.UUID) -> list[Rule]:
    rows = (
        await conn.execute(
            text(f"SELECT {COLUMNS} FROM availability_rules WHERE location_id = :loc"),
            {"loc": location_id},
        )
    ).all()
    return [as_rule(r) for r in rows]


async def lock_owner(conn: AsyncConnection, location_id: uuid.UUID, person_id: object) -> None:
    """Serializes rule writes per owner, so two overlapping rules cannot both pass the check."""
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:owner))"),
        {"owner": f"rules:{location_id}:{person_id}"},
    )
