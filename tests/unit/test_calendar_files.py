"""Calendar files through `icalendar` (`common/calendar_files.py`)."""

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar

from common.calendar_files import Appointment, booking_file, feed

NEW_YORK = ZoneInfo("America/New_York")


def _appointment(start: dt.datetime, status: str = "confirmed", booking_id: str = "b-1"):
    return Appointment(
        booking_id=booking_id,
        start_at=start,
        end_at=start + dt.timedelta(minutes=45),
        status=status,
        location="Harbour Clinic",
        summary="Appointment at Harbour Clinic",
    )


def _events(text: str) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(text).walk("VEVENT"))


def test_a_booking_is_one_event_named_by_its_id_in_utc() -> None:
    start = dt.datetime(2026, 12, 1, 9, 0, tzinfo=NEW_YORK)
    text = booking_file(_appointment(start))
    (event,) = _events(text)
    assert str(event["UID"]) == "b-1"
    assert event.decoded("DTSTART") == dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.UTC)
    assert event.decoded("DTEND") == dt.datetime(2026, 12, 1, 14, 45, tzinfo=dt.UTC)
    assert "DTSTART:20261201T140000Z" in text
    assert str(event["LOCATION"]) == "Harbour Clinic"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert "VTIMEZONE" not in text


def test_nine_oclock_on_either_side_of_a_dst_change_is_an_hour_apart_in_utc() -> None:
    before = dt.datetime(2027, 3, 13, 9, 0, tzinfo=NEW_YORK)  # EST, UTC-5
    after = dt.datetime(2027, 3, 14, 9, 0, tzinfo=NEW_YORK)  # EDT, UTC-4
    starts = [_events(booking_file(_appointment(s)))[0].decoded("DTSTART") for s in (before, after)]
    assert starts == [
        dt.datetime(2027, 3, 13, 14, 0, tzinfo=dt.UTC),
        dt.datetime(2027, 3, 14, 13, 0, tzinfo=dt.UTC),
    ]


def test_a_held_booking_is_tentative_and_a_cancelled_one_cancelled() -> None:
    start = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    statuses = [
        str(_events(booking_file(_appointment(start, s)))[0]["STATUS"])
        for s in ("held", "cancelled")
    ]
    assert statuses == ["TENTATIVE", "CANCELLED"]


def test_a_feed_holds_one_event_per_booking_and_a_name() -> None:
    start = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    text = feed(
        "Dr Who · Harbour Clinic", [_appointment(start, booking_id=f"b-{n}") for n in range(3)]
    )
    calendar = icalendar.Calendar.from_ical(text)
    assert str(calendar["X-WR-CALNAME"]) == "Dr Who · Harbour Clinic"
    assert [str(e["UID"]) for e in calendar.walk("VEVENT")] == ["b-0", "b-1", "b-2"]
