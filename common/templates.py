"""What notifications say: one template per event type and language (contract §9).

Times are written in the location's time zone, as the customer will live them,
with the zone's name beside them. The customer's language is the one their hold
request asked for (`Accept-Language`), else English.
"""

import datetime as dt

from domain.timezones import zone

LOCALES = ("en", "ar")
DEFAULT_LOCALE = "en"

_DAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "ar": ("الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد"),
}
_MONTHS = {
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
    "ar": (
        "يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو",
        "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر",
    ),
}  # fmt: skip
_WHEN = {
    "en": "{day} {date} {month} {year} at {time} ({zone})",
    "ar": "{day} {date} {month} {year} الساعة {time} ({zone})",
}

SUBJECTS = {
    "en": {
        "booking.created": "Your booking is held",
        "booking.confirmed": "Your booking is confirmed",
        "booking.cancelled": "Your booking was cancelled",
        "booking.expired": "Your hold expired",
        "booking.rescheduled": "Your booking was moved",
        "booking.reminder": "Reminder of your booking",
        "waitlist.offered": "A time is held for you",
    },
    "ar": {
        "booking.created": "تم حجز موعدك مؤقتًا",
        "booking.confirmed": "تم تأكيد حجزك",
        "booking.cancelled": "تم إلغاء حجزك",
        "booking.expired": "انتهى حجزك المؤقت",
        "booking.rescheduled": "تم تغيير موعد حجزك",
        "booking.reminder": "تذكير بموعدك",
        "waitlist.offered": "وقت محجوز لك",
    },
}
_BODIES = {
    "en": {
        "booking.created": "Hello {name}, {when} at {location} is held for you.",
        "booking.confirmed": "Hello {name}, your booking at {location} on {when} is confirmed.",
        "booking.cancelled": "Hello {name}, your booking at {location} on {when} was cancelled.",
        "booking.expired": "Hello {name}, your hold on {when} at {location} expired.",
        "booking.rescheduled": "Hello {name}, your booking at {location} is now on {when}.",
        "booking.reminder": "Hello {name}, a reminder: you are expected at {location} on {when}.",
        "waitlist.offered": "Hello {name}, a time at {location} on {when} is held for you."
        " Confirm it before the hold expires.",
    },
    "ar": {
        "booking.created": "مرحبًا {name}، الموعد {when} في {location} محجوز لك مؤقتًا.",
        "booking.confirmed": "مرحبًا {name}، تم تأكيد حجزك في {location} يوم {when}.",
        "booking.cancelled": "مرحبًا {name}، تم إلغاء حجزك في {location} يوم {when}.",
        "booking.expired": "مرحبًا {name}، انتهى حجزك المؤقت للموعد {when} في {location}.",
        "booking.rescheduled": "مرحبًا {name}، أصبح موعد حجزك في {location} يوم {when}.",
        "booking.reminder": "مرحبًا {name}، تذكير: موعدك في {location} يوم {when}.",
        "waitlist.offered": "مرحبًا {name}، وقت في {location} يوم {when} محجوز لك."
        " أكّده قبل انتهاء الحجز المؤقت.",
    },
}
_OTHER_SUBJECT = {"en": "About your booking", "ar": "بخصوص حجزك"}
_MANAGE = {"en": "Manage your booking: {url}", "ar": "إدارة حجزك: {url}"}
_FALLBACK = {
    "en": "Hello {name}, news about your booking.",
    "ar": "مرحبًا {name}، لديك جديد بخصوص حجزك.",
}


def locale_of(locale: str | None) -> str:
    return locale if locale in LOCALES else DEFAULT_LOCALE


def when(start_at: dt.datetime, timezone: str, locale: str | None) -> str:
    """`Tuesday 5 December 2026 at 09:00 (Asia/Dubai)`, in the location's zone."""
    language = locale_of(locale)
    local = start_at.astimezone(zone(timezone))
    return _WHEN[language].format(
        day=_DAYS[language][local.weekday()],
        date=local.day,
        month=_MONTHS[language][local.month - 1],
        year=local.year,
        time=local.strftime("%H:%M"),
        zone=timezone,
    )


def subject(event_type: str, locale: str | None) -> str:
    language = locale_of(locale)
    return SUBJECTS[language].get(event_type, _OTHER_SUBJECT[language])


def render(
    event_type: str,
    locale: str | None,
    *,
    name: str,
    location: str,
    start_at: dt.datetime | None,
    timezone: str,
    manage_url: str | None,
) -> str:
    """The message for one event, in the customer's language, with the manage link if any."""
    language = locale_of(locale)
    template = _BODIES[language].get(event_type)
    if template is None or start_at is None:
        text = _FALLBACK[language].format(name=name)
    else:
        text = template.format(
            name=name, location=location, when=when(start_at, timezone, language)
        )
    if manage_url:
        text += "\n" + _MANAGE[language].format(url=manage_url)
    return text
