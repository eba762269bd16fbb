"""Calendar files (RFC 5545) through the `icalendar` library: a booking's own, and a
person's feed that staff subscribe to from their calendar app.

Each booking is one VEVENT whose UID is the booking id, so a calendar that imports
a booking twice, or refreshes a feed, updates the event rather than adding one.
Times are written in UTC (`...Z`): every calendar app shows them in its own zone,
and no time zone definition has to travel with the file.
"""

import datetime as dt
from dataclasses import dataclass

from icalendar import Calendar, Event

PRODUCT_ID = "-//General Scheduler//Bookings//EN"
CONTENT_TYPE = "text/calendar"
_STATUS = {"held": "TENTATIVE", "confirmed": "CONFIRMED", "cancelled": "CANCELLED"}


@dataclass(frozen=True)
class Appointment:
    booking_id: str
    start_at: dt.datetime
    end_at: dt.datetime
    status: str
    location: str
    summary: str


def _calendar(name: str | None = None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if name:
        calendar.add("x-wr-calname", name)
    return calendar


def _event(appointment: Appointment, stamp: dt.datetime) -> Event:
    event = Event()
    event.add("uid", appointment.booking_id)
    event.add("dtstamp", stamp)
    event.add("dtstart", appointment.start_at.astimezone(dt.UTC))
    event.add("dtend", appointment.end_at.astimezone(dt.UTC))
    event.add("summary", appointment.summary)
    event.add("location", appointment.location)
    event.add("status", _STATUS.get(appointment.status, "CANCELLED"))
    return event


def booking_file(appointment: Appointment) -> str:
    """One booking as a calendar file with a single VEVENT."""
    calendar = _calendar()
    calendar.add_component(_event(appointment, dt.datetime.now(dt.UTC)))
    return calendar.to_ical().decode()


def feed(name: str, appointments: list[Appointment]) -> str:
    """A person's bookings as one calendar, named for them."""
    calendar = _calendar(name)
    stamp = dt.datetime.now(dt.UTC)
    for appointment in appointments:
        calendar.add_component(_event(appointment, stamp))
    return calendar.to_ical().decode()
