"""Request and reply models shared by several route modules."""

import datetime as dt
import re
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from domain.planning import supported_dates


class Strict(BaseModel):
    """Bodies and queries reject fields the contract does not name."""

    model_config = ConfigDict(extra="forbid")


class Patch(Strict):
    """A PATCH body: omitted fields keep their values, so null is no way to keep one.

    Fields default to None, which stands for "omitted" and is never validated; only
    the fields named in `NULLABLE` may be sent as null (to clear them). The others are
    typed without None (`name: Name = None`), so the document does not offer null.
    """

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.NULLABLE:
            raise ValueError("may not be null; omit the field to keep its value")
        return value


class ListQuery(Strict):
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = None


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: Any) -> Any:
    """Dates are `YYYY-MM-DD` and nothing else: pydantic alone also reads `0` as
    1970-01-01 and `2026-12-01T00:00:00+14:00` as 2026-12-01, dropping the offset."""
    if isinstance(value, str) and _DAY.fullmatch(value):
        return value
    raise ValueError("dates are YYYY-MM-DD")


Day = Annotated[dt.date, BeforeValidator(_iso_day)]
"""A calendar date as the contract writes it."""


def _supported(day: dt.date) -> dt.date:
    first, last = supported_dates(dt.datetime.now(dt.UTC).date())
    if not first <= day <= last:
        raise ValueError(f"dates from {first} to {last} are supported")
    return day


SupportedDate = Annotated[Day, AfterValidator(_supported)]
"""A date availability can be asked for or generated on (see `domain.planning`)."""


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict
    request_id: str


class ErrorReply(BaseModel):
    error: ErrorDetail
