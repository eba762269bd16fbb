"""`python -m db.invariants`: proves the counters tell the truth and nothing is oversold.

For every slot: `booked` equals its confirmed bookings, `hold` its held ones, and
`booked + hold <= capacity`; for every person, at no instant do the slots covering
it hold more than their capacity (checked at every slot start, where the count of
covering slots can only grow). Prints each violation; exits 1 if any.
"""

import asyncio
import sys

import asyncpg

from common.settings import get_settings

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
_PEOPLE = """
SELECT s.id, min(o.capacity) AS capacity, sum(o.booked + o.hold) AS used
FROM slot_instances s
JOIN slot_instances o ON o.person_id = s.person_id
 AND o.start_at <= s.start_at AND s.start_at < o.end_at
WHERE s.person_id IS NOT NULL
GROUP BY s.id
HAVING sum(o.booked + o.hold) > min(o.capacity)
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
            for r in await conn.fetch(_PEOPLE)
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
