"""The SMTP channel against a real (local) SMTP server."""

import smtplib
import socket
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from common.notify import Message, SmtpChannel

REFUSED = "nobody@example.org"


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
