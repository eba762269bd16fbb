"""Calendar days of a time zone as UTC instants."""

import datetime as dt
from zoneinfo import ZoneInfo


def day_bounds(day: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """`[start, end)` of `day` in `zone`: local midnight to the next local midnight.

    A day is not always 24 hours: it is 23 or 25 on the days clocks change.
    """
    start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def today(zone: ZoneInfo, now: dt.datetime | None = None) -> dt.date:
    return (now or dt.datetime.now(dt.UTC)).astimezone(zone).date()
