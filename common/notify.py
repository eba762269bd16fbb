"""Notification channels: where booking events reach people (contract §9).

The log channel is always there (it records what would be sent, PII masked); an
SMTP channel is added when `SMTP_URL` is set (`smtp://user:pass@host:port`, or
`smtps://` for TLS), and an SMS and a WhatsApp channel when their provider's URL
is set (`common/providers.py`). Delivery runs in a worker with Dramatiq's
retries, one message per event and channel, so a channel only has to raise when
it could not deliver; a retry carries the same idempotency key, so a provider
that received the first attempt does not send twice.
"""

import asyncio
import datetime as dt
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
import structlog

from common import calendar_files, templates
from common.pii import mask_email, mask_phone
from common.providers import HttpTextProvider, TextProvider
from common.settings import Settings

_log = structlog.get_logger("notify")

TEXT_EVENTS = frozenset(
    {
        "booking.confirmed",
        "booking.reminder",
        "booking.cancelled",
        "booking.rescheduled",
        "waitlist.offered",
    }
)
"""What a customer with a phone is told by SMS and WhatsApp."""


@dataclass(frozen=True)
class Message:
    event_type: str
    booking_id: str
    name: str
    email: str | None
    start_at: str | None
    request_id: str
    """The request that caused the event, for tracing (contract §7)."""
    event_id: str = ""
    phone: str | None = None
    location: str = ""
    timezone: str = "UTC"
    locale: str | None = None
    manage_url: str | None = None
    calendar: str | None = None
    """The booking's `.ics`, attached to the email (on confirm)."""

    @property
    def subject(self) -> str:
        return templates.subject(self.event_type, self.locale)

    @property
    def text(self) -> str:
        start = dt.datetime.fromisoformat(self.start_at) if self.start_at else None
        return templates.render(
            self.event_type,
            self.locale,
            name=self.name,
            location=self.location,
            start_at=start,
            timezone=self.timezone,
            manage_url=self.manage_url,
        )

    def idempotency_key(self, channel: str) -> str:
        """The same for every attempt at this event on this channel, and only for those."""
        return f"{self.event_id or self.event_type + ':' + self.booking_id}:{channel}"


class Channel(Protocol):
    name: str

    async def send(self, message: Message) -> None: ...


class LogChannel:
    name = "log"

    async def send(self, message: Message) -> None:
        _log.info(
            "notification",
            event_type=message.event_type,
            booking_id=message.booking_id,
            request_id=message.request_id,
            to=mask_email(message.email) if message.email else None,
            phone=mask_phone(message.phone) if message.phone else None,
        )


class SmtpChannel:
    name = "email"

    def __init__(self, url: str, sender: str) -> None:
        self._url = urlsplit(url)
        self._sender = sender

    async def send(self, message: Message) -> None:
        if message.email:
            await asyncio.to_thread(self._deliver, message)

    def _deliver(self, message: Message) -> None:
        email = EmailMessage()
        email["From"], email["To"], email["Subject"] = self._sender, message.email, message.subject
        email["X-Request-Id"] = message.request_id
        email.set_content(message.text)
        if message.calendar:
            email.add_attachment(
                message.calendar.encode(),
                maintype="text",
                subtype="calendar",
                filename="booking.ics",
                params={"method": "PUBLISH"},
            )
        client: Any = smtplib.SMTP_SSL if self._url.scheme == "smtps" else smtplib.SMTP
        with client(self._url.hostname, self._url.port or 25, timeout=10) as smtp:
            if self._url.username:
                smtp.login(self._url.username, self._url.password or "")
            smtp.send_message(email)


class TextChannel:
    """Short messages through a provider (SMS, WhatsApp): the events of `TEXT_EVENTS`,
    to customers who gave a phone."""

    def __init__(self, name: str, provider: TextProvider) -> None:
        self.name = name
        self._provider = provider

    async def send(self, message: Message) -> None:
        if message.phone and message.event_type in TEXT_EVENTS:
            await self._provider.send(
                message.phone,
                message.text,
                message.idempotency_key(self.name),
                message.request_id,
            )


def channels(settings: Settings, session: aiohttp.ClientSession) -> list[Channel]:
    """Every channel that is on; text providers make their calls on `session`."""
    found: list[Channel] = [LogChannel()]
    if settings.smtp_url:
        found.append(SmtpChannel(settings.smtp_url, settings.notify_from))
    texts = {
        "sms": (settings.sms_provider_url, settings.sms_provider_key),
        "whatsapp": (settings.whatsapp_provider_url, settings.whatsapp_provider_key),
    }
    for name, (url, key) in texts.items():
        if url:
            provider = HttpTextProvider(session, url, key, settings.provider_timeout_seconds)
            found.append(TextChannel(name, provider))
    return found


def calendar_for(message: Message, end_at: dt.datetime | None) -> str | None:
    """The `.ics` a confirmation email carries; None for other events."""
    if message.event_type != "booking.confirmed" or not message.start_at or end_at is None:
        return None
    return calendar_files.booking_file(
        calendar_files.Appointment(
            booking_id=message.booking_id,
            start_at=dt.datetime.fromisoformat(message.start_at),
            end_at=end_at,
            status="confirmed",
            location=message.location,
            summary=f"Appointment at {message.location}",
        )
    )
