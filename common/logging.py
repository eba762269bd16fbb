"""Structured logs: one JSON object a line, request id bound, PII masked.

Masking is a processor at the end of the chain, so PII is caught wherever it
appears (event text, any field, formatted exceptions), not only where a caller
remembered to mask it.
"""

import logging
import re
import sys
from typing import Any

import structlog

from common.pii import mask_email, mask_phone

# Local part: every character RFC 5322 allows unquoted ("atext" and dots).
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# An international number (`+` then 7-15 digits, maybe spaced) or a bare run of 9-15
# digits; dates, times and UUIDs never match either.
_PHONE = re.compile(r"\+\d[\d \-]{5,18}\d|(?<![\w\-:.])\d{9,15}(?![\w\-:.])")
_UNMASKED = frozenset({"timestamp", "level", "logger"})


def mask_text(text: str) -> str:
    """Masks every email address and phone-like number in free text."""
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(v) for v in value]
    return value


def mask_pii(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value if key in _UNMASKED else _mask_value(value) for key, value in event_dict.items()
    }


def configure_logging(level: str = "INFO") -> None:
    """Routes stdlib and structlog records through one JSON renderer on stdout."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            mask_pii,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
