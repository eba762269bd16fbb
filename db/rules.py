"""Availability rules: loading them as domain rules, and storing them race-free."""

import uuid
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.scoping import in_scope
from domain.rules import Rule
from domain.scope import Scope

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


async def same_kind_and_owner(
    conn: AsyncConnection, location_id: uuid.UUID, person_id: uuid.UUID | None, kind: str
) -> dict[uuid.UUID, Rule]:
    """The stored rules a new rule of this kind and owner could overlap, by id."""
    rows = await conn.execute(
        text(
            f"SELECT {COLUMNS} FROM availability_rules WHERE location_id = :loc"
            " AND person_id IS NOT DISTINCT FROM :person AND rule_kind = :kind"
        ),
        {"loc": location_id, "person": person_id, "kind": kind},
    )
    return {row.id: as_rule(row) for row in rows}


def _values(rule: Rule) -> dict[str, Any]:
    return {
        "person_id": rule.person_id,
        "rule_kind": rule.kind,
        "days_of_week": sorted(rule.days_of_week) if rule.days_of_week else None,
        "start_minute": rule.start_minute,
        "end_minute": rule.end_minute,
        "slot_capacity": rule.capacity,
        "slot_granularity_minutes": rule.granularity,
        "slot_duration_minutes": rule.duration,
        "valid_from": rule.valid_from,
        "valid_to": rule.valid_to,
        "is_closed": rule.is_closed,
    }


async def insert(
    conn: AsyncConnection, rule_id: uuid.UUID, location_id: uuid.UUID, rule: Rule
) -> Row[Any]:
    """Stores the rule; call `lock_owner` first and check overlaps in the same transaction."""
    values = {"id": rule_id, "location_id": location_id, **_values(rule)}
    query = text(
        f"INSERT INTO availability_rules ({', '.join(values)})"
        f" VALUES ({', '.join(':' + k for k in values)}) RETURNING {COLUMNS}"
    )
    return (await conn.execute(query, values)).one()


async def get(conn: AsyncConnection, rule_id: uuid.UUID, *, lock: bool = False) -> Row[Any] | None:
    suffix = " FOR UPDATE" if lock else ""
    query = text(f"SELECT {COLUMNS} FROM availability_rules WHERE id = :id{suffix}")
    return (await conn.execute(query, {"id": rule_id})).first()


async def update(conn: AsyncConnection, rule_id: uuid.UUID, rule: Rule) -> Row[Any]:
    """Replaces the rule's hours and owner; lock the owner and check overlaps first, as for
    `insert`."""
    values = _values(rule)
    query = text(
        f"UPDATE availability_rules SET {', '.join(f'{k} = :{k}' for k in values)}"
        f" WHERE id = :id RETURNING {COLUMNS}"
    )
    return (await conn.execute(query, {**values, "id": rule_id})).one()


async def delete(conn: AsyncConnection, rule_id: uuid.UUID) -> None:
    await conn.execute(text("DELETE FROM availability_rules WHERE id = :id"), {"id": rule_id})


async def rules_after(
    conn: AsyncConnection,
    after: uuid.UUID | None,
    limit: int,
    *,
    location_id: uuid.UUID | None = None,
    person_id: uuid.UUID | None = None,
    kind: str | None = None,
    scope: Scope,
) -> list[Row[Any]]:
    """Up to `limit` rules of the scope in id order after `after`, matching every filter
    given."""
    rows = await conn.execute(
        text(
            f"SELECT {COLUMNS} FROM availability_rules"
            " WHERE (CAST(:after AS uuid) IS NULL OR id > CAST(:after AS uuid))"
            " AND (CAST(:loc AS uuid) IS NULL OR location_id = CAST(:loc AS uuid))"
            " AND (CAST(:person AS uuid) IS NULL OR person_id = CAST(:person AS uuid))"
            " AND (CAST(:kind AS text) IS NULL OR rule_kind = CAST(:kind AS text))"
            f" AND {in_scope('location_id')} ORDER BY id LIMIT :n"
        ),
        {
            "after": after,
            "loc": location_id,
            "person": person_id,
            "kind": kind,
            "scope": scope.ids(),
            "n": limit,
        },
    )
    return list(rows.all())
