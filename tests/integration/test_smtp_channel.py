"""The SMTP channel against a real (local) SMTP server."""

import datetime as dt
import email
import email.policy
import smtplib
import socket
from collections.abc import Iterator
from dataclasses import replace

import icalendar
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from common.notify import Message, SmtpChannel, calendar_for

REFUSED = "nobody@example.org"
END = dt.datetime(2031, 1, 6, 5, 30, tzinfo=dt.UTC)


class _Mailbox:
    """Keeps what it accepts; refuses one address as a real server refuses an unknown one."""

    def __init__(self) -> None:
        self.received: list[Envelope] = []

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address, _):
        if address == REFUSED:
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append(envelope)
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mailbox() -> Iterator[tuple[_Mailbox, int]]:
    box = _Mailbox()
    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def _message(email: str) -> Message:
    return Message(
        "booking.confirmed", "b-1", "Ann", email, "2031-01-06T09:00:00+04:00", "req-confirm-1"
    )


async def test_a_notification_arrives_as_an_email(mailbox: tuple[_Mailbox, int]) -> None:
    box, port = mailbox
    channel = SmtpChannel(f"smtp://127.0.0.1:{port}", "scheduler@example.org")
    await channel.send(_message("ann@example.org"))
    assert len(box.received) == 1
    mail = box.received[0]
    assert mail.rcpt_tos == ["ann@example.org"]
    text = mail.content.decode()
    assert "Subject: Your booking is confirmed" in text
    assert "X-Request-Id: req-confirm-1" in text
    assert "Hello Ann" in text


async def test_a_refused_address_raises_so_the_event_is_retried(
    mailbox: tuple[_Mailbox, int],
) -> None:
    _, port = mailbox
    channel = SmtpChannel(f"smtp://127.0.0.1:{port}", "scheduler@example.org")
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        await channel.send(_message(REFUSED))


async def test_a_confirmation_carries_its_calendar_file(mailbox: tuple[_Mailbox, int]) -> None:
    box, port = mailbox
    message = Message(
        "booking.confirmed",
        "b-1",
        "Ann",
        "ann@example.org",
        "2031-01-06T09:00:00+04:00",
        "req-confirm-1",
        location="Harbour Clinic",
        timezone="Asia/Dubai",
    )
    with_calendar = replace(message, calendar=calendar_for(message, END))
    await SmtpChannel(f"smtp://127.0.0.1:{port}", "scheduler@example.org").send(with_calendar)
    mail = email.message_from_bytes(box.received[0].content, policy=email.policy.default)
    (attachment,) = [part for part in mail.walk() if part.get_content_type() == "text/calendar"]
    assert attachment.get_filename() == "booking.ics"
    (event,) = icalendar.Calendar.from_ical(attachment.get_payload(decode=True)).walk("VEVENT")
    assert str(event["UID"]) == "b-1"
    assert event.decoded("DTSTART") == dt.datetime(2031, 1, 6, 5, 0, tzinfo=dt.UTC)
    assert "Monday 6 January 2031 at 09:00 (Asia/Dubai)" in mail.get_body(("plain",)).get_content()


def test_only_a_confirmation_gets_a_calendar_file() -> None:
    message = Message("booking.cancelled", "b-1", "Ann", None, "2031-01-06T09:00:00+04:00", "r")
    assert calendar_for(message, END) is None
