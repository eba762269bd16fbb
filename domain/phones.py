"""Phone numbers: validated and normalised to E.164.

Most numbers arrive already in E.164 (`+971501234567`, as the widget sends them).
Those are checked without `phonenumbers.parse`, which costs more than the rest of
a hold's validation: the country code is split off as `parse` splits it, and the
number is taken as written unless `parse` would read it otherwise (a national
prefix after the country code, a leading zero), in which case `parse` decides.
A property test holds the short way to the long one.
"""

import re

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumber

INVALID = "phone must be a valid international number, e.g. +971501234567"
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_LONGEST_COUNTRY_CODE = 3


def normalize_phone(raw: str, default_region: str | None = None) -> str:
    """Returns the E.164 form, or raises ValueError for anything that is not a valid number."""
    if _valid_as_written(raw):
        return raw
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(INVALID) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(INVALID)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _valid_as_written(raw: str) -> bool:
    """Whether `raw` is a valid number in E.164 that `parse` would read as written.

    False says nothing: the number is then parsed.
    """
    if not _E164.fullmatch(raw):
        return False
    digits = raw[1:]
    for size in range(1, _LONGEST_COUNTRY_CODE + 1):
        code = int(digits[:size])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            return _valid_national(code, digits[size:])
    return False


def _valid_national(code: int, national: str) -> bool:
    region = phonenumbers.region_code_for_country_code(code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    if metadata is None or national.startswith("0"):
        return False
    prefix = metadata.national_prefix_for_parsing
    if prefix and re.match(prefix, national):
        return False
    number = PhoneNumber(country_code=code, national_number=int(national))
    return phonenumbers.is_valid_number(number)
