"""`python -m db.invariants`: proves the counters tell the truth and nothing is oversold.

For every slot: `booked` equals its confirmed bookings, `hold` its held ones, and
`booked + hold <= capacity`; for every person, at no instant do the slots covering
it hold more than their capacity, each slot stretched by half its location's buffer
on either side (`domain.capacity.overbooked`, checked at every slot start, where the
count of covering slots can only grow; the current buffer, so a buffer raised after
bookings were made can report them). For every waitlist entry: it was offered at
most once, and an `offered` entry has its hold (held or confirmed, naming the entry).
Prints each violation; exits 1 if any.
"""

import asyncio
import sys

import asyncpg

from common.settings import get_settings
from db.slots import buffer_sql

_COUNTERS = """
SELECT s.id, s.booked, s.hold, s.capacity,
       count(b.id) FILTER (WHERE b.status = 'confirmed') AS confirmed,
       count(b.id) FILTER (WHERE b.status = 'held') AS held
FROM slot_instances s LEFT JOIN bookings b ON b.slot_id = s.id
GROUP BY s.id
HAVING s.booked <> count(b.id) FILTER (WHERE b.status = 'confirmed')
    OR s.hold <> count(b.id) FILTER (WHERE b.status = 'held')
    OR s.booked + s.hold > s.capacity
"""
PEOPLE = f"""
SELECT s.id, min(o.capacity) AS capacity, sum(o.booked + o.hold) AS used
FROM slot_instances s
JOIN locations l ON l.id = s.location_id
JOIN slot_instances o ON o.person_id = s.person_id
 AND o.start_at <= s.start_at AND s.start_at < o.end_at + {buffer_sql("l.policy")}
WHERE s.person_id IS NOT NULL
GROUP BY s.id
HAVING sum(o.booked + o.hold) > min(o.capacity)
"""
_OFFERED_TWICE = """
SELECT waitlist_entry_id AS id, count(*) AS offers FROM bookings
WHERE waitlist_entry_id IS NOT NULL GROUP BY waitlist_entry_id HAVING count(*) > 1
"""
_OFFER_WITHOUT_HOLD = """
SELECT e.id, e.booking_id, b.status FROM waitlist_entries e
LEFT JOIN bookings b ON b.id = e.booking_id AND b.waitlist_entry_id = e.id
WHERE e.status = 'offered' AND (b.id IS NULL OR b.status NOT IN ('held', 'confirmed'))
"""


async def violations(database_url: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        found = [
            f"slot {r['id']}: booked={r['booked']} (confirmed {r['confirmed']}),"
            f" hold={r['hold']} (held {r['held']}), capacity={r['capacity']}"
            for r in await conn.fetch(_COUNTERS)
        ]
        found += [
            f"person busy {r['used']} times over capacity {r['capacity']} at slot {r['id']}"
            for r in await conn.fetch(PEOPLE)
        ]
        found += [
            f"waitlist entry {r['id']} offered {r['offers']} times"
            for r in await conn.fetch(_OFFERED_TWICE)
        ]
        found += [
            f"waitlist entry {r['id']} offered without its hold"
            f" (booking {r['booking_id']}: {r['status']})"
            for r in await conn.fetch(_OFFER_WITHOUT_HOLD)
        ]
    finally:
        await conn.close()
    return found


def main() -> int:
    found = asyncio.run(violations(get_settings().database_url))
    for line in found:
        print(line)
    print(f"{len(found)} violations")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
