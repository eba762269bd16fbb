"""What notifications say (`common/templates.py`), manage tokens (`common/link_tokens.py`),
and the settings that shape both."""

import datetime as dt

import pytest

from common import link_tokens
from common.notify import TEXT_EVENTS, Message
from common.pii import PiiKeys, generate_key
from common.settings import Settings
from common.templates import render, subject

START = dt.datetime(2026, 12, 1, 5, 0, tzinfo=dt.UTC)


def test_times_are_written_in_the_locations_zone() -> None:
    text = render(
        "booking.reminder",
        None,
        name="Ann",
        location="Harbour Clinic",
        start_at=START,
        timezone="Asia/Dubai",
        manage_url="https://book.example/manage/abc",
    )
    assert text == (
        "Hello Ann, a reminder: you are expected at Harbour Clinic on"
        " Tuesday 1 December 2026 at 09:00 (Asia/Dubai).\n"
        "Manage your booking: https://book.example/manage/abc"
    )


def test_the_customers_language_when_known() -> None:
    text = render(
        "booking.confirmed",
        "ar",
        name="ليلى",
        location="عيادة الميناء",
        start_at=START,
        timezone="Asia/Dubai",
        manage_url=None,
    )
    assert text.startswith("مرحبًا ليلى، تم تأكيد حجزك")
    assert "الثلاثاء 1 ديسمبر 2026 الساعة 09:00" in text
    assert subject("booking.confirmed", "ar") == "تم تأكيد حجزك"
    assert subject("booking.confirmed", "fr") == "Your booking is confirmed"


@pytest.mark.parametrize("event_type", sorted(TEXT_EVENTS))
def test_every_text_event_has_its_own_words(event_type: str) -> None:
    texts = {
        render(
            e,
            "en",
            name="Ann",
            location="Clinic",
            start_at=START,
            timezone="UTC",
            manage_url=None,
        )
        for e in (event_type, "something.else")
    }
    assert len(texts) == 2


def test_a_message_has_one_idempotency_key_per_event_and_channel() -> None:
    message = Message("booking.reminder", "b-1", "Ann", None, START.isoformat(), "r", "e-1")
    assert message.idempotency_key("sms") == "e-1:sms"
    assert message.idempotency_key("whatsapp") == "e-1:whatsapp"


def test_manage_tokens_are_long_unique_and_hashed_per_purpose() -> None:
    pii = PiiKeys.parse(f"k1:{generate_key()}")
    tokens = {link_tokens.mint() for _ in range(1000)}
    assert len(tokens) == 1000
    assert min(len(t) for t in tokens) * 6 >= 128  # URL-safe base64: 6 bits a character
    token = next(iter(tokens))
    manage = link_tokens.digest(pii, link_tokens.MANAGE, token)
    assert manage == link_tokens.digest(pii, link_tokens.MANAGE, token)
    assert manage != link_tokens.digest(pii, link_tokens.FEED, token)
    assert token not in manage


def test_settings_read_offsets_and_retry_schedules() -> None:
    settings = Settings(reminder_offsets="2h,1d", webhook_retry_seconds="1, 2,3")
    assert settings.reminder_offsets == (86400, 7200)
    assert settings.webhook_retry_seconds == (1, 2, 3)
    with pytest.raises(ValueError):
        Settings(reminder_offsets="soon")
