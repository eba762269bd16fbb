"""Request and reply models shared by several route modules."""

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """Bodies and queries reject fields the contract does not name."""

    model_config = ConfigDict(extra="forbid")


class ListQuery(Strict):
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = None


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict
    request_id: str


class ErrorReply(BaseModel):
    error: ErrorDetail
