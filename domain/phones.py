"""Phone numbers: validated and normalised to E.164."""

import phonenumbers


def normalize_phone(raw: str, default_region: str | None = None) -> str:
    """Returns the E.164 form, or raises ValueError for anything that is not a valid number."""
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("phone must be a valid international number, e.g. +971501234567") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("phone must be a valid international number, e.g. +971501234567")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
