"""UUIDv7 identifiers: time ordered, so primary keys stay index friendly."""

import uuid

import uuid_utils


def new_id() -> uuid.UUID:
    return uuid.UUID(bytes=uuid_utils.uuid7().bytes)
