"""Waitlist entries, and offering them the capacity a booking transaction frees.

`offer` runs inside the transaction that freed the capacity (a cancel, a move
away, expired holds, new slots or more capacity), on slots that transaction has
locked together with every slot conflicting with them: the waiting entries that
might want one are locked in arrival order (`seq`), `domain.waitlist.offers`
decides who gets what, and each offer is written as a held booking naming its
entry, with `booking.created` and `waitlist.offered` events. The slot is then as
full for everyone else as any held slot. Entries are locked after slots, like
bookings, so no two transactions wait for each other in a circle.
"""

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from common.ids import new_id
from db import outbox
from db.slots import Left, Place, first_lapse, left_on, lock_with_neighbours, save_counters
from domain.capacity import SlotUse, conflicts, hold_refusal
from domain.waitlist import BOOKED, DECLINED, Offer, Waiting, Window, offers

_ENTRY = (
    "SELECT e.id, e.location_id, e.person_id, e.date, e.from_minute, e.to_minute, e.status,"
    " e.user_id, e.customer_name, e.customer_phone, e.customer_email, e.booking_id,"
    " e.created_at, e.offered_at, e.seq, l.timezone, b.hold_expires_at,"
    " CASE WHEN e.status = 'waiting' THEN (SELECT count(*) FROM waitlist_entries w"
    "   WHERE w.status = 'waiting' AND w.location_id = e.location_id AND w.date = e.date"
    "   AND w.person_id IS NOT DISTINCT FROM e.person_id AND w.seq <= e.seq) END AS position"
    " FROM waitlist_entries e JOIN locations l ON l.id = e.location_id"
    " LEFT JOIN bookings b ON b.id = e.booking_id AND b.status = 'held'"
)


@dataclass(frozen=True)
class NewEntry:
    """An entry to add; the customer's phone and email are already encrypted."""

    id: uuid.UUID
    location_id: uuid.UUID
    person_id: uuid.UUID | None
    date: dt.date
    from_minute: int | None
    to_minute: int | None
    window: Window
    user_id: str
    name: str
    phone: str
    email: str | None
    phone_hash: str
    token: str
    """The entry's manage token, sealed: an offer's booking takes it, so the same link
    confirms the offer (and its notification can carry the link)."""
    token_hash: str


async def add(conn: AsyncConnection, entry: NewEntry) -> Row:
    """Adds the entry at the end of its queue; returns it as `find` does."""
    await conn.execute(
        text(
            "INSERT INTO waitlist_entries (id, location_id, person_id, date, from_minute,"
            " to_minute, window_start, window_end, user_id, customer_name, customer_phone,"
            " customer_email, phone_hash, manage_token, manage_token_hash) VALUES (:id, :loc,"
            " :person, :date, :from_minute, :to_minute, :window_start, :window_end, :user_id,"
            " :name, :phone, :email, :phone_hash, :token, :token_hash)"
        ),
        {
            "id": entry.id,
            "loc": entry.location_id,
            "person": entry.person_id,
            "date": entry.date,
            "from_minute": entry.from_minute,
            "to_minute": entry.to_minute,
            "window_start": entry.window.start,
            "window_end": entry.window.end,
            "user_id": entry.user_id,
            "name": entry.name,
            "phone": entry.phone,
            "email": entry.email,
            "phone_hash": entry.phone_hash,
            "token": entry.token,
            "token_hash": entry.token_hash,
        },
    )
    return (await conn.execute(text(_ENTRY + " WHERE e.id = :id"), {"id": entry.id})).one()


async def find(conn: AsyncConnection, entry_id: uuid.UUID, owner: str) -> Row | None:
    """The entry, with its place in the queue while it waits, if `owner` made it."""
    return (
        await conn.execute(
            text(_ENTRY + " WHERE e.id = :id AND e.user_id = :owner"),
            {"id": entry_id, "owner": owner},
        )
    ).first()


async def leave(conn: AsyncConnection, entry_id: uuid.UUID, owner: str) -> Row | None:
    """Takes a waiting entry of `owner` out of its queue; returns the entry as it then is
    (None if there is no such entry of theirs). Locking the row waits for an offer being
    made to it, which the caller then finds."""
    await conn.execute(
        text(
            "UPDATE waitlist_entries SET status = 'cancelled', updated_at = now()"
            " WHERE id = :id AND user_id = :owner AND status = 'waiting'"
        ),
        {"id": entry_id, "owner": owner},
    )
    return await find(conn, entry_id, owner)


async def listed(
    conn: AsyncConnection, location_id: uuid.UUID, day: dt.date, after_seq: int | None, limit: int
) -> list[Row]:
    """A page of a location's entries for a date, in arrival order, after `after_seq`."""
    rows = await conn.execute(
        text(
            _ENTRY + " WHERE e.location_id = :loc AND e.date = :date"
            " AND (CAST(:after AS bigint) IS NULL OR e.seq > CAST(:after AS bigint))"
            " ORDER BY e.seq LIMIT :n"
        ),
        {"loc": location_id, "date": day, "after": after_seq, "n": limit},
    )
    return list(rows.all())


# The waiting entries some candidate suits (domain.waitlist.suits, restated to find and
# lock no more than those), locked in arrival order.
_WAITING = text(
    "SELECT e.id, e.location_id, e.person_id, e.window_start, e.window_end, e.phone_hash"
    " FROM waitlist_entries e"
    " WHERE e.status = 'waiting' AND e.location_id = ANY(:locs) AND e.date = ANY(:dates)"
    " AND EXISTS (SELECT 1 FROM unnest(CAST(:locs AS uuid[]), CAST(:persons AS uuid[]),"
    "   CAST(:dates AS date[]), CAST(:starts AS timestamptz[]), CAST(:ends AS timestamptz[]))"
    "   AS c(loc, person, day, start_at, end_at)"
    "   WHERE e.location_id = c.loc AND e.date = c.day"
    "   AND (e.person_id IS NULL OR e.person_id = c.person)"
    "   AND e.window_start <= c.start_at AND c.end_at <= e.window_end)"
    " ORDER BY e.seq FOR UPDATE OF e"
)
_ACTIVE_PHONES = text(
    "SELECT slot_id, phone_hash FROM bookings WHERE slot_id = ANY(:slots)"
    " AND phone_hash = ANY(:phones) AND status IN ('held', 'confirmed')"
    " AND created_day = (now() AT TIME ZONE 'UTC')::date"
)
_INSERT_OFFERS = text(
    "INSERT INTO bookings (id, slot_id, location_id, person_id, user_id, customer_name,"
    " customer_phone, customer_email, phone_hash, status, hold_expires_at, waitlist_entry_id,"
    " manage_token, manage_token_hash)"
    " SELECT c.id, s.id, s.location_id, s.person_id, e.user_id, e.customer_name,"
    " e.customer_phone, e.customer_email, e.phone_hash, 'held', :until, e.id,"
    " e.manage_token, e.manage_token_hash"
    " FROM unnest(CAST(:ids AS uuid[]), CAST(:slots AS uuid[]), CAST(:entries AS uuid[]))"
    " AS c(id, slot_id, entry_id)"
    " JOIN slot_instances s ON s.id = c.slot_id JOIN waitlist_entries e ON e.id = c.entry_id"
)
_MARK_OFFERED = text(
    "UPDATE waitlist_entries e SET status = 'offered', booking_id = c.booking_id,"
    " offered_at = now(), updated_at = now()"
    " FROM unnest(CAST(:entries AS uuid[]), CAST(:ids AS uuid[])) AS c(entry_id, booking_id)"
    " WHERE e.id = c.entry_id"
)


@dataclass(frozen=True)
class Offered:
    entry_id: uuid.UUID
    booking_id: uuid.UUID
    slot_id: uuid.UUID
    phone_hash: str


async def offer(
    conn: AsyncConnection,
    slots: dict[uuid.UUID, SlotUse],
    places: dict[uuid.UUID, Place],
    candidates: list[uuid.UUID],
    hold_ttl_seconds: int,
    request_id: str | None,
) -> list[Offered]:
    """Offers the free capacity of `candidates` (locked, with every slot conflicting with
    them) to the first waiting entries they suit, and writes the offers."""
    now = dt.datetime.now(dt.UTC)
    locked = list(slots.values())
    asked = [slots[i] for i in candidates if i in slots]
    near = conflicts(asked, locked)
    free = [s for s in asked if hold_refusal(s, near[s.id], now) is None]
    if not free:
        return []
    entries = await _waiting(conn, free, places)
    if not entries:
        return []
    active = await _active_phones(conn, free, entries)
    locations = {s.id: places[s.id].location_id for s in free}
    made = offers(entries, free, locked, locations, active, now)
    if made:
        hold_until = now + dt.timedelta(seconds=hold_ttl_seconds)
        return await _write(conn, made, places, hold_until, request_id)
    return []


async def _waiting(
    conn: AsyncConnection, free: list[SlotUse], places: dict[uuid.UUID, Place]
) -> list[Waiting]:
    rows = await conn.execute(
        _WAITING,
        {
            "locs": [places[s.id].location_id for s in free],
            "persons": [s.person_id for s in free],
            "dates": [places[s.id].date for s in free],
            "starts": [s.start_at for s in free],
            "ends": [s.end_at for s in free],
        },
    )
    return [
        Waiting(
            r.id, r.location_id, r.person_id, Window(r.window_start, r.window_end), r.phone_hash
        )
        for r in rows
    ]


async def _active_phones(
    conn: AsyncConnection, free: list[SlotUse], entries: list[Waiting]
) -> set[tuple[uuid.UUID, str]]:
    rows = await conn.execute(
        _ACTIVE_PHONES,
        {"slots": [s.id for s in free], "phones": sorted({e.phone_hash for e in entries})},
    )
    return {(r.slot_id, r.phone_hash) for r in rows}


async def _write(
    conn: AsyncConnection,
    made: list[Offer],
    places: dict[uuid.UUID, Place],
    hold_until: dt.datetime,
    request_id: str | None,
) -> list[Offered]:
    offered = [Offered(o.entry.id, new_id(), o.slot.id, o.entry.phone_hash) for o in made]
    ids = {
        "ids": [o.booking_id for o in offered],
        "entries": [o.entry_id for o in offered],
    }
    await conn.execute(
        _INSERT_OFFERS, {**ids, "slots": [o.slot_id for o in offered], "until": hold_until}
    )
    await conn.execute(_MARK_OFFERED, ids)
    await save_counters(conn, list({o.slot.id: o.slot for o in made}.values()))
    events = []
    for o, written in zip(made, offered, strict=True):
        booking = written.booking_id
        payload = _event(o, booking, places[o.slot.id], hold_until)
        events.append(outbox.Event("booking.created", booking, payload, request_id))
        events.append(outbox.Event("waitlist.offered", booking, payload, request_id))
    await outbox.emit_many(conn, events)
    return offered


def _event(
    made: Offer, booking_id: uuid.UUID, place: Place, hold_until: dt.datetime
) -> dict[str, Any]:
    return {
        "booking_id": str(booking_id),
        "waitlist_entry_id": str(made.entry.id),
        "slot_id": str(made.slot.id),
        "location_id": str(place.location_id),
        "person_id": str(made.slot.person_id) if made.slot.person_id else None,
        "status": "held",
        "start_at": made.slot.start_at.isoformat(),
        "hold_expires_at": hold_until.isoformat(),
    }


async def settle(conn: AsyncConnection, booking_id: uuid.UUID, confirmed: bool) -> None:
    """An offer's hold was confirmed (the entry is `booked`) or cancelled (`declined`)."""
    await conn.execute(
        text(
            "UPDATE waitlist_entries SET status = :status, updated_at = now()"
            " WHERE booking_id = :id AND status = 'offered'"
        ),
        {"id": booking_id, "status": BOOKED if confirmed else DECLINED},
    )


# Open, future slots of waiting entries' dates whose own counters leave room and that
# some waiting entry suits: the places a freeing transaction could not reach (capacity
# freed beyond its locks, an entry added while its slot was free). The offer decides
# under lock; this only finds them.
_UNOFFERED = text(
    "SELECT DISTINCT s.id FROM waitlist_entries e JOIN slot_instances s"
    " ON s.location_id = e.location_id AND s.date = e.date"
    " AND (e.person_id IS NULL OR s.person_id = e.person_id)"
    " AND e.window_start <= s.start_at AND s.end_at <= e.window_end"
    " WHERE e.status = 'waiting' AND s.status <> 'blocked' AND s.start_at > now()"
    " AND s.booked + s.hold < s.capacity"
    " AND (CAST(:loc AS uuid) IS NULL OR e.location_id = CAST(:loc AS uuid))"
    " AND (CAST(:first AS date) IS NULL OR e.date >= CAST(:first AS date))"
    " AND (CAST(:last AS date) IS NULL OR e.date <= CAST(:last AS date))"
    " ORDER BY s.id LIMIT :n"
)


async def unoffered(
    conn: AsyncConnection,
    limit: int,
    location_id: uuid.UUID | None = None,
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> list[uuid.UUID]:
    """Up to `limit` slots that may have room for a waiting entry (see `_UNOFFERED`)."""
    rows = await conn.execute(
        _UNOFFERED, {"loc": location_id, "first": first, "last": last, "n": limit}
    )
    return list(rows.scalars())


async def counts(
    conn: AsyncConnection, slots: dict[uuid.UUID, SlotUse], offered: list[Offered]
) -> dict[str, Left]:
    """What is left, exactly, of the slots offered (for their admission counts)."""
    if not offered:
        return {}
    taken = sorted({o.slot_id for o in offered})
    lapse = await first_lapse(conn, list(slots))
    return left_on(slots, taken, dt.datetime.now(dt.UTC), lapse)


async def offer_room(
    conn: AsyncConnection,
    hold_ttl_seconds: int,
    request_id: str | None,
    *,
    limit: int = 1_000,
    location_id: uuid.UUID | None = None,
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> dict[str, Left]:
    """Offers the waitlists whatever room their slots have that no freeing transaction
    offered: new slots, more capacity, an entry added while its slot was free, room freed
    beyond the slots a transaction had locked. Returns what is left of the slots offered."""
    wanted = await unoffered(conn, limit, location_id, first, last)
    if not wanted:
        return {}
    slots, places = await lock_with_neighbours(conn, wanted)
    made = await offer(conn, slots, places, wanted, hold_ttl_seconds, request_id)
    return await counts(conn, slots, made)
