"""Refusals over HTTP: the status each error code answers with, and the envelope.

The layers below refuse with a code (`domain.errors.Refused`); only the web knows
HTTP. `ApiError` is a refusal the web makes itself, with headers of its own (a
429's `Retry-After`).
"""

from domain.errors import ErrorCode, Refused

STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.IDEMPOTENCY_KEY_REQUIRED: 400,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.SLOT_FULL: 409,
    ErrorCode.SLOT_UNAVAILABLE: 409,
    ErrorCode.SLOT_NOT_OFFERED: 409,
    ErrorCode.TOO_MANY_HOLDS: 409,
    ErrorCode.TOO_LATE: 409,
    ErrorCode.TOO_EARLY: 409,
    ErrorCode.HOLD_EXPIRED: 409,
    ErrorCode.INVALID_STATE: 409,
    ErrorCode.RULE_OVERLAP: 409,
    ErrorCode.DUPLICATE_BOOKING: 409,
    ErrorCode.IN_USE: 409,
    ErrorCode.EMAIL_TAKEN: 409,
    ErrorCode.IDEMPOTENCY_IN_PROGRESS: 409,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.VALIDATION_ERROR: 422,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: 422,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.INTERNAL: 500,
}


class ApiError(Refused):
    """A refusal the web makes, maybe with headers of its own."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        details: dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code, message, details)
        self.headers = headers or {}


def status_of(error: Refused) -> int:
    return STATUS[error.code]


def headers_of(error: Refused) -> dict[str, str]:
    return error.headers if isinstance(error, ApiError) else {}


def envelope(
    code: ErrorCode, message: str, details: dict, request_id: str | None
) -> dict[str, dict]:
    """The contract's error body."""
    return {
        "error": {
            "code": code.value,
            "message": message,
            "details": details,
            "request_id": request_id,
        }
    }


def error_body(error: Refused, request_id: str | None) -> dict[str, dict]:
    return envelope(error.code, error.message, error.details, request_id)


def with_headers(error: Refused, headers: dict[str, str]) -> ApiError:
    """`error` as the web answers it: with `headers`, and any of its own on top."""
    return ApiError(error.code, error.message, error.details, {**headers, **headers_of(error)})
