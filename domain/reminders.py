"""When a confirmed booking's reminders are due (contract §9).

`REMINDER_OFFSETS` names how long before the start each reminder goes out
(`24h,2h`). Every offset is planned when a booking is confirmed and again when it
moves; an offset already passed is due at once, and none is planned once the
appointment has begun.
"""

import datetime as dt
import re

_OFFSET = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_OFFSET_SECONDS = 366 * 86400


def parse_offsets(spec: str) -> tuple[int, ...]:
    """`24h,2h` -> (86400, 7200): seconds before the start, longest first, each once.

    An empty spec plans no reminder; anything else unreadable is a ValueError.
    """
    seconds = set()
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        found = _OFFSET.match(part)
        if found is None:
            raise ValueError(f"reminder offset {part!r} is not a number and a unit (s, m, h, d)")
        value = int(found.group(1)) * _UNIT_SECONDS[found.group(2)]
        if not 0 < value <= MAX_OFFSET_SECONDS:
            raise ValueError(f"reminder offset {part!r} must be between 1 s and 366 days")
        seconds.add(value)
    return tuple(sorted(seconds, reverse=True))


def planned(
    start_at: dt.datetime, now: dt.datetime, offsets: tuple[int, ...]
) -> list[tuple[int, dt.datetime]]:
    """(offset, when due) for each offset; one already passed is due now; none once begun."""
    if start_at <= now:
        return []
    return [(offset, max(start_at - dt.timedelta(seconds=offset), now)) for offset in offsets]
