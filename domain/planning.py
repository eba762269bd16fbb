"""The dates the platform plans for: from a year back to five years ahead.

Nothing outside them can be booked or generated, and near the ends of the
calendar (year 1, year 9999) a local midnight far from UTC is not even an
instant Python can represent: a date outside this range is the caller's error.
"""

import datetime as dt

YEARS_BACK = 1
YEARS_AHEAD = 5


def supported_dates(today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last supported dates, both inclusive, as seen on `today`."""
    return _years_from(today, -YEARS_BACK), _years_from(today, YEARS_AHEAD)


def _years_from(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` away; 29 February falls back to the 28th."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
