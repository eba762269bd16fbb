"""The SQL forms of the capacity rules say what `domain.capacity` says, on random states.

The booking path decides in Python (`domain.capacity`) on rows it has locked; the
lock-free reads and the set-based writes decide in SQL. Each SQL form is run
against Postgres here and compared with the domain's definition.
"""

import asyncio
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from common.ids import new_id
from common.settings import get_settings
from db.availability import day_slots
from db.engine import create_engine
from db.slots import open_sql, status_sql
from domain.capacity import SlotUse, is_open, remaining, status_for

STATUSES = ("open", "partial", "full", "blocked")
DAY = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).replace(
    hour=0, minute=0, second=0, microsecond=0
)


async def _in_rolled_back_transaction(check: Callable[[AsyncConnection], Awaitable[None]]) -> None:
    engine = create_engine(get_settings().database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            transaction = await conn.begin()
            try:
                await check(conn)
            finally:
                await transaction.rollback()
    finally:
        await engine.dispose()


counters = st.tuples(st.sampled_from(STATUSES), st.integers(0, 12), st.integers(1, 12))


@settings(max_examples=25)
@given(st.lists(counters, min_size=1, max_size=40))
def test_status_sql_is_the_domains_status(cases: list[tuple[str, int, int]]) -> None:
    async def check(conn: AsyncConnection) -> None:
        rows = await conn.execute(
            text(
                f"SELECT {status_sql('c.status', 'c.used', 'c.capacity')}"
                " FROM unnest(CAST(:statuses AS text[]), CAST(:used AS int[]),"
                " CAST(:capacities AS int[])) WITH ORDINALITY AS c(status, used, capacity, n)"
                " ORDER BY c.n"
            ),
            {
                "statuses": [c[0] for c in cases],
                "used": [c[1] for c in cases],
                "capacities": [c[2] for c in cases],
            },
        )
        assert [r[0] for r in rows] == [status_for(*case) for case in cases]

    asyncio.run(_in_rolled_back_transaction(check))


# Starts at least a minute from now either way, so the clocks of Python and Postgres agree.
offsets = st.integers(60, 86_400).flatmap(lambda s: st.sampled_from((s, -s)))


@settings(max_examples=25)
@given(st.lists(st.tuples(st.sampled_from(STATUSES), offsets), min_size=1, max_size=40))
def test_open_sql_is_the_domains_openness(cases: list[tuple[str, int]]) -> None:
    now = dt.datetime.now(dt.UTC)
    starts = [now + dt.timedelta(seconds=offset) for _, offset in cases]

    async def check(conn: AsyncConnection) -> None:
        rows = await conn.execute(
            text(
                f"SELECT {open_sql('c.status', 'c.start_at')}"
                " FROM unnest(CAST(:statuses AS text[]), CAST(:starts AS timestamptz[]))"
                " WITH ORDINALITY AS c(status, start_at, n) ORDER BY c.n"
            ),
            {"statuses": [c[0] for c in cases], "starts": starts},
        )
        expected = [is_open(c[0], start, now) for c, start in zip(cases, starts, strict=True)]
        assert [r[0] for r in rows] == expected

    asyncio.run(_in_rolled_back_transaction(check))


@dataclass(frozen=True)
class Drawn:
    """A slot as drawn: whose (the person's, or the location's), when, how big, its counters
    and its lapsed holds; no two of one owner start together."""

    personal: bool
    start_minute: int
    minutes: int
    capacity: int
    booked: int
    hold: int
    lapsed: int
    blocked: bool


@st.composite
def drawn_slots(draw: st.DrawFn) -> Drawn:
    capacity = draw(st.integers(1, 3))
    booked = draw(st.integers(0, capacity))
    hold = draw(st.integers(0, capacity - booked))
    return Drawn(
        personal=draw(st.booleans()),
        start_minute=draw(st.integers(0, 32)) * 15,
        minutes=draw(st.sampled_from((15, 30, 45, 60))),
        capacity=capacity,
        booked=booked,
        hold=hold,
        lapsed=draw(st.integers(0, hold)),
        blocked=draw(st.booleans()) and draw(st.booleans()),
    )


def _uses(drawn: list[Drawn], ids: list[uuid.UUID], person: uuid.UUID) -> list[SlotUse]:
    """The slots as the domain sees them: a lapsed hold is free already."""
    return [
        SlotUse(
            slot_id,
            person if d.personal else None,
            DAY + dt.timedelta(hours=9, minutes=d.start_minute),
            DAY + dt.timedelta(hours=9, minutes=d.start_minute + d.minutes),
            d.capacity,
            d.booked,
            d.hold - d.lapsed,
            "blocked" if d.blocked else "open",
        )
        for d, slot_id in zip(drawn, ids, strict=True)
    ]


async def _arrange(
    conn: AsyncConnection,
    drawn: list[Drawn],
    uses: list[SlotUse],
    location: uuid.UUID,
    person: uuid.UUID,
) -> None:
    await conn.execute(
        text("INSERT INTO locations (id, name, timezone) VALUES (:id, 'L', 'UTC')"),
        {"id": location},
    )
    await conn.execute(
        text("INSERT INTO people (id, location_id, name) VALUES (:id, :loc, 'P')"),
        {"id": person, "loc": location},
    )
    for d, use in zip(drawn, uses, strict=True):
        await conn.execute(
            text(
                "INSERT INTO slot_instances (id, location_id, person_id, date, start_at, end_at,"
                " capacity, booked, hold, status)"
                " VALUES (:id, :loc, :person, :date, :start, :end, :cap, :booked, :hold, :status)"
            ),
            {
                "id": use.id,
                "loc": location,
                "person": use.person_id,
                "date": use.start_at.date(),
                "start": use.start_at,
                "end": use.end_at,
                "cap": d.capacity,
                "booked": d.booked,
                "hold": d.hold,
                "status": use.status,
            },
        )
        for n in range(d.hold):
            lapsed = n < d.lapsed
            await conn.execute(
                text(
                    "INSERT INTO bookings (id, slot_id, location_id, person_id, user_id,"
                    " customer_name, customer_phone, phone_hash, status, hold_expires_at)"
                    " VALUES (:id, :slot, :loc, :person, 'u', 'N', 'k1:x', :hash, 'held', :until)"
                ),
                {
                    "id": new_id(),
                    "slot": use.id,
                    "loc": location,
                    "person": use.person_id,
                    "hash": f"{use.id}:{n}",
                    "until": DAY - dt.timedelta(days=4) if lapsed else DAY + dt.timedelta(days=1),
                },
            )


@settings(max_examples=40)
@given(
    st.lists(
        drawn_slots(), min_size=1, max_size=12, unique_by=lambda d: (d.personal, d.start_minute)
    )
)
def test_the_availability_read_is_the_domains_capacity(drawn: list[Drawn]) -> None:
    location, person = new_id(), new_id()
    ids = [new_id() for _ in drawn]
    uses = _uses(drawn, ids, person)

    async def check(conn: AsyncConnection) -> None:
        await _arrange(conn, drawn, uses, location, person)
        read = await day_slots(conn, location, None, DAY, DAY + dt.timedelta(days=1))
        now = dt.datetime.now(dt.UTC)
        expected = {
            u.id: (max(remaining(u, uses), 0), u.is_open(now) and remaining(u, uses) > 0)
            for u in uses
        }
        assert {s.id: (s.remaining, s.eligible) for s in read} == expected

    asyncio.run(_in_rolled_back_transaction(check))
