"""IANA time zone names."""

from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

NOT_PLACES = frozenset({"localtime", "Factory", "posixrules"})
"""Names in a system's zone folder that are no place's civil time: the host's own zone
(which differs between machines), a placeholder, a rule template."""
LEAP_SECOND_FOLDERS = ("right/", "posix/")
"""Copies of every zone; `right/` counts leap seconds, so its clocks run 27 s off UTC's."""


@lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    return frozenset(
        name
        for name in available_timezones()
        if name not in NOT_PLACES and not name.startswith(LEAP_SECOND_FOLDERS)
    )


def is_iana_zone(name: str) -> bool:
    return name in _known()


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)
