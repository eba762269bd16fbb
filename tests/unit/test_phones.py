"""Phone normalisation: the short way for numbers written in E.164 answers exactly as
`phonenumbers.parse` would."""

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.phones import normalize_phone


def _parsed(raw: str) -> str | None:
    """What the long way answers: the E.164 form, or None for an invalid number."""
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _normalized(raw: str) -> str | None:
    try:
        return normalize_phone(raw)
    except ValueError:
        return None


def _examples() -> list[str]:
    """Every region's example number of every type, in E.164."""
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in range(phonenumbers.PhoneNumberType.VOICEMAIL + 1):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                found.append(
                    phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
                )
    return found


EXAMPLES = _examples()
COUNTRY_CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


@pytest.mark.parametrize("edit", ["as is", "digit dropped", "digit added", "zero", "one"])
def test_every_regions_examples_normalise_as_parse_reads_them(edit: str) -> None:
    edits = {
        "as is": lambda raw: raw,
        "digit dropped": lambda raw: raw[:-1],
        "digit added": lambda raw: raw + "1",
        "zero": lambda raw: raw[:3] + "0" + raw[3:],
        "one": lambda raw: raw[:2] + "1" + raw[2:],
    }
    for raw in map(edits[edit], EXAMPLES):
        assert _normalized(raw) == _parsed(raw), raw


@settings(max_examples=3000)
@given(code=st.sampled_from(COUNTRY_CODES), rest=st.integers(0, 10**14))
def test_any_number_after_a_country_code_normalises_as_parse_reads_it(code: int, rest: int) -> None:
    raw = f"+{code}{rest}"
    assert _normalized(raw) == _parsed(raw)


def test_national_and_spaced_forms_still_parse() -> None:
    assert normalize_phone("+971 50 123 4567") == "+971501234567"
    assert normalize_phone("050 123 4567", "AE") == "+971501234567"
    assert normalize_phone("+44 020 7946 0018") == "+442079460018"
