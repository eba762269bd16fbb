"""The contract's error codes, and the refusal that carries one.

The domain, the database layer and the workers refuse with a code; the web alone
knows which HTTP status answers each (`web/errors.py`).
"""

from enum import StrEnum


class ErrorCode(StrEnum):
    BAD_REQUEST = "BAD_REQUEST"
    IDEMPOTENCY_KEY_REQUIRED = "IDEMPOTENCY_KEY_REQUIRED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    SLOT_FULL = "SLOT_FULL"
    SLOT_UNAVAILABLE = "SLOT_UNAVAILABLE"
    SLOT_NOT_OFFERED = "SLOT_NOT_OFFERED"
    TOO_MANY_HOLDS = "TOO_MANY_HOLDS"
    TOO_LATE = "TOO_LATE"
    TOO_EARLY = "TOO_EARLY"
    HOLD_EXPIRED = "HOLD_EXPIRED"
    INVALID_STATE = "INVALID_STATE"
    RULE_OVERLAP = "RULE_OVERLAP"
    DUPLICATE_BOOKING = "DUPLICATE_BOOKING"
    IN_USE = "IN_USE"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    IDEMPOTENCY_IN_PROGRESS = "IDEMPOTENCY_IN_PROGRESS"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    RATE_LIMITED = "RATE_LIMITED"
    UNAVAILABLE = "UNAVAILABLE"
    INTERNAL = "INTERNAL"


class Refused(Exception):
    """An operation was refused: the contract's code, words for people, and details."""

    def __init__(self, code: ErrorCode, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}
