"""Showing a visitor a slot the way the widget does, so that it may hold it (contract §10)."""

import asyncio
import uuid

import asyncpg

from domain.timezones import zone
from tests.support.api import Api

WAIT_SECONDS = 10


async def expose(
    api: Api,
    db: asyncpg.Connection,
    visitor: str,
    slot_id: uuid.UUID,
    *,
    person: bool = False,
    variant: str | None = None,
) -> None:
    """`GET /v1/slots` as `visitor` for the slot's location (or its person) and local date
    until the slot is shown: a web process drops its cached availability when Postgres
    announces a change, a moment after the change. Fails if it never is."""
    row = await db.fetchrow(
        "SELECT s.location_id, s.person_id, s.start_at, l.timezone FROM slot_instances s"
        " JOIN locations l ON l.id = s.location_id WHERE s.id = $1",
        slot_id,
    )
    params = {
        "location_id": str(row["location_id"]),
        "date": row["start_at"].astimezone(zone(row["timezone"])).date().isoformat(),
    }
    if person:
        params["person_id"] = str(row["person_id"])
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        headers = {"X-Exposure-Variant": variant} if variant else None
        shown = await api.get("/v1/slots", token=visitor, params=params, headers=headers)
        assert shown.status == 200, shown.json
        if str(slot_id) in [s["id"] for s in shown.json["slots"]]:
            return
        assert asyncio.get_running_loop().time() < deadline, f"never shown: {shown.json}"
        await asyncio.sleep(0.05)
