"""PII at rest and in logs: encryption with rotating keys, keyed lookups, masking."""

import json
import logging

import phonenumbers
from hypothesis import given
from hypothesis import strategies as st

from common.logging import mask_pii, mask_text
from common.pii import PiiKeys, generate_key, mask_email, mask_phone

OLD, NEW = generate_key(), generate_key()


def test_encryption_round_trips_and_names_its_key() -> None:
    keys = PiiKeys.parse(f"k1:{OLD}")
    token = keys.encrypt("+971501234567")
    assert token.startswith("k1:")
    assert "+971501234567" not in token
    assert keys.decrypt(token) == "+971501234567"


def test_equal_plaintexts_encrypt_differently() -> None:
    keys = PiiKeys.parse(f"k1:{OLD}")
    assert keys.encrypt("a@example.org") != keys.encrypt("a@example.org")


def test_after_rotation_new_rows_use_the_new_key_and_old_rows_stay_readable() -> None:
    before = PiiKeys.parse(f"k1:{OLD}")
    after = PiiKeys.parse(f"k2:{NEW},k1:{OLD}")
    old_token = before.encrypt("+971501234567")
    assert after.decrypt(old_token) == "+971501234567"
    assert after.encrypt("x").startswith("k2:")


def test_lookup_hash_survives_adding_a_key() -> None:
    before = PiiKeys.parse(f"k1:{OLD}")
    after = PiiKeys.parse(f"k2:{NEW},k1:{OLD}")
    assert before.lookup_hash("+971501234567") == after.lookup_hash("+971501234567")
    assert before.lookup_hash("+971501234567") != before.lookup_hash("+971501234568")


def test_masks_keep_only_a_hint() -> None:
    assert mask_phone("+971501234512") == "+9715******12"
    assert mask_email("alice@example.org") == "a***@example.org"


_regions = st.sampled_from(["AE", "GB", "US", "IN", "DE", "AU", "SA", "FR"])


@st.composite
def phones(draw: st.DrawFn) -> str:
    region = draw(_regions)
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    national = str(example.national_number)
    digits = draw(st.text("0123456789", min_size=len(national) - 3, max_size=len(national) - 3))
    number = national[:3] + digits
    return f"+{example.country_code}{number}"


emails = st.emails()


@given(phones())
def test_masking_hides_every_international_phone(phone: str) -> None:
    masked = mask_text(f"customer {phone} booked")
    assert phone not in masked
    assert phone[-2:] in masked


@given(emails)
def test_masking_hides_every_email(email: str) -> None:
    masked = mask_text(f"mail {email} now")
    assert f"mail {mask_email(email)} now" == masked


@given(phones(), emails)
def test_log_processor_masks_nested_fields(phone: str, email: str) -> None:
    event = {"event": "booked", "customer": {"phone": phone, "emails": [email]}, "note": phone}
    rendered = json.dumps(mask_pii(None, "info", event))
    assert phone not in rendered
    assert json.dumps(mask_email(email))[1:-1] in rendered


def test_captured_json_log_lines_contain_no_pii(capsys) -> None:
    from common.logging import configure_logging

    configure_logging("INFO")
    logging.getLogger("test").info("customer +971501234567 wrote from bob@example.org")
    output = capsys.readouterr().out
    assert "+971501234567" not in output
    assert "bob@example.org" not in output
    assert "+9715******67" in output
