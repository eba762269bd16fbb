"""Request and reply models shared by several route modules."""

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from domain.planning import supported_dates


class Strict(BaseModel):
    """Bodies and queries reject fields the contract does not name."""

    model_config = ConfigDict(extra="forbid")


class ListQuery(Strict):
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = None


def _supported(day: dt.date) -> dt.date:
    first, last = supported_dates(dt.datetime.now(dt.UTC).date())
    if not first <= day <= last:
        raise ValueError(f"dates from {first} to {last} are supported")
    return day


SupportedDate = Annotated[dt.date, AfterValidator(_supported)]
"""A date availability can be asked for or generated on (see `domain.planning`)."""


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict
    request_id: str


class ErrorReply(BaseModel):
    error: ErrorDetail
