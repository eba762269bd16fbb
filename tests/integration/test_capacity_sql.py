"""The SQL forms of the capacity rules say what `domain.capacity` says, on random states.

The booking path decides in Python (`domain.capacity`) on rows it has locked; the
lock-free reads, the choice of rows to lock and the invariant checker decide in SQL.
Each SQL form is run against Postgres here and compared with the domain's definition,
on random slots under random booking policies (buffer, notice, advance).
"""

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from common.ids import new_id
from common.settings import get_settings
from db.availability import day_slots
from db.engine import create_engine
from db.invariants import PEOPLE
from db.slots import lock_with_neighbours, open_sql, status_sql
from domain.capacity import SlotUse, hold_refusal, is_open, overbooked, remaining, status_for
from domain.policy import BookingPolicy

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


@dataclass(frozen=True)
class DrawnPolicy:
    """A policy as drawn: notice as a boundary between slot starts (so the clocks of Python
    and Postgres agree which side a slot is on), or none."""

    buffer_minutes: int
    notice_boundary: int | None
    """Minutes after 09:00 of DAY, 7 past a quarter, where the notice ends; None: none."""
    max_advance_days: int | None

    def policy(self, now: dt.datetime) -> BookingPolicy:
        notice = 0
        if self.notice_boundary is not None:
            boundary = DAY + dt.timedelta(hours=9, minutes=self.notice_boundary)
            notice = int((boundary - now).total_seconds() // 60)
        return BookingPolicy(notice, self.max_advance_days, self.buffer_minutes)


policies = st.builds(
    DrawnPolicy,
    buffer_minutes=st.sampled_from((0, 15, 30, 60)),
    notice_boundary=st.one_of(st.none(), st.integers(0, 33).map(lambda q: 15 * q + 7)),
    max_advance_days=st.sampled_from((None, 2, 3, 5)),
)


def _uses(
    drawn: list[Drawn],
    ids: list[uuid.UUID],
    person: uuid.UUID,
    policy: BookingPolicy,
    lapsed_free: bool = True,
) -> list[SlotUse]:
    """The slots as the domain sees them: a lapsed hold is free already (unless counted as
    the counters count it, for the invariant checker)."""
    return [
        SlotUse(
            slot_id,
            person if d.personal else None,
            DAY + dt.timedelta(hours=9, minutes=d.start_minute),
            DAY + dt.timedelta(hours=9, minutes=d.start_minute + d.minutes),
            d.capacity,
            d.booked,
            d.hold - d.lapsed if lapsed_free else d.hold,
            "blocked" if d.blocked else "open",
            policy,
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
    policy = uses[0].policy.to_json() if uses else {}
    await conn.execute(
        text(
            "INSERT INTO locations (id, name, timezone, policy)"
            " VALUES (:id, 'L', 'UTC', CAST(:policy AS jsonb))"
        ),
        {"id": location, "policy": json.dumps(policy)},
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


slot_states = st.lists(
    drawn_slots(), min_size=1, max_size=12, unique_by=lambda d: (d.personal, d.start_minute)
)


def _clear_of_the_advance(uses: list[SlotUse], now: dt.datetime) -> bool:
    """No slot starts within two minutes of where the maximum advance ends."""
    days = uses[0].policy.max_advance_days
    if days is None:
        return True
    end = now + dt.timedelta(days=days)
    return all(abs(u.start_at - end) > dt.timedelta(minutes=2) for u in uses)


@settings(max_examples=60)
@given(slot_states, policies)
def test_the_availability_read_is_the_domains_capacity(
    drawn: list[Drawn], drawn_policy: DrawnPolicy
) -> None:
    location, person = new_id(), new_id()
    ids = [new_id() for _ in drawn]
    uses = _uses(drawn, ids, person, drawn_policy.policy(dt.datetime.now(dt.UTC)))
    assume(_clear_of_the_advance(uses, dt.datetime.now(dt.UTC)))

    async def check(conn: AsyncConnection) -> None:
        await _arrange(conn, drawn, uses, location, person)
        read = await day_slots(conn, location, None, DAY, DAY + dt.timedelta(days=1))
        now = dt.datetime.now(dt.UTC)
        expected = {
            u.id: (max(remaining(u, uses), 0), hold_refusal(u, uses, now) is None) for u in uses
        }
        assert {s.id: (s.remaining, s.eligible) for s in read} == expected

    asyncio.run(_in_rolled_back_transaction(check))


@settings(max_examples=40)
@given(slot_states, st.sampled_from((0, 15, 30, 60)), st.integers(0, 11), st.sampled_from((1, 2)))
def test_the_locks_take_the_slots_the_domain_says_conflict(
    drawn: list[Drawn], buffer: int, pick: int, hops: int
) -> None:
    """`hops=1`: the slot and those conflicting with it; `hops=2`: and theirs."""
    location, person = new_id(), new_id()
    ids = [new_id() for _ in drawn]
    uses = _uses(drawn, ids, person, BookingPolicy(buffer_minutes=buffer))
    wanted = uses[pick % len(uses)]
    ring = {t.id for t in uses if wanted.overlaps(t)}
    if hops == 2:
        ring = {t.id for s in uses if s.id in ring for t in uses if s.overlaps(t)}

    async def check(conn: AsyncConnection) -> None:
        await _arrange(conn, drawn, uses, location, person)
        locked, _ = await lock_with_neighbours(conn, [wanted.id], hops=hops)
        assert set(locked) == ring
        assert all(locked[i].policy == wanted.policy for i in locked)

    asyncio.run(_in_rolled_back_transaction(check))


@settings(max_examples=40)
@given(slot_states, st.sampled_from((0, 15, 30, 60)))
def test_the_invariant_checker_finds_the_slots_the_domain_says_are_overbooked(
    drawn: list[Drawn], buffer: int
) -> None:
    location, person = new_id(), new_id()
    ids = [new_id() for _ in drawn]
    uses = _uses(drawn, ids, person, BookingPolicy(buffer_minutes=buffer), lapsed_free=False)

    async def check(conn: AsyncConnection) -> None:
        await _arrange(conn, drawn, uses, location, person)
        found = {r.id for r in await conn.execute(text(PEOPLE))}
        assert found == {u.id for u in uses if u.person_id is not None and overbooked(u, uses)}

    asyncio.run(_in_rolled_back_transaction(check))
