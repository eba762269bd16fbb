"""Notification channels: where booking events reach people.

The log channel is always there (it records what would be sent, PII masked); an
SMTP channel is added when `SMTP_URL` is set (`smtp://user:pass@host:port`, or
`smtps://` for TLS). Delivery runs in a worker with Dramatiq's retries, so a
channel only has to raise when it could not deliver.
"""

import asyncio
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol
from urllib.parse import urlsplit

import structlog

from common.pii import mask_email
from common.settings import Settings

_log = structlog.get_logger("notify")

SUBJECTS = {
    "booking.created": "Your booking is held",
    "booking.confirmed": "Your booking is confirmed",
    "booking.cancelled": "Your booking was cancelled",
    "booking.expired": "Your hold expired",
    "booking.rescheduled": "Your booking was moved",
    "waitlist.offered": "A place from the waitlist is held for you: confirm it",
}


@dataclass(frozen=True)
class Message:
    event_type: str
    booking_id: str
    name: str
    email: str | None
    start_at: str | None
    request_id: str
    """The request that caused the event, for tracing (contract §7)."""

    @property
    def subject(self) -> str:
        return SUBJECTS.get(self.event_type, "About your booking")

    @property
    def text(self) -> str:
        when = f" for {self.start_at}" if self.start_at else ""
        return f"Hello {self.name},\n\n{self.subject}{when} (booking {self.booking_id}).\n"


class Channel(Protocol):
    async def send(self, message: Message) -> None: ...


class LogChannel:
    async def send(self, message: Message) -> None:
        _log.info(
            "notification",
            event_type=message.event_type,
            booking_id=message.booking_id,
            request_id=message.request_id,
            to=mask_email(message.email) if message.email else None,
        )


class SmtpChannel:
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
        client: Any = smtplib.SMTP_SSL if self._url.scheme == "smtps" else smtplib.SMTP
        with client(self._url.hostname, self._url.port or 25, timeout=10) as smtp:
            if self._url.username:
                smtp.login(self._url.username, self._url.password or "")
            smtp.send_message(email)


def channels(settings: Settings) -> list[Channel]:
    found: list[Channel] = [LogChannel()]
    if settings.smtp_url:
        found.append(SmtpChannel(settings.smtp_url, settings.notify_from))
    return found
