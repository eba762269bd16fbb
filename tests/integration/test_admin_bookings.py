"""Staff list bookings: filters, newest slot first, phone matched after normalisation."""

import datetime as dt
import uuid

import asyncpg
import pytest

from common.ids import new_id
from common.pii import PiiKeys
from common.settings import Settings
from tests.support import rows
from tests.support.api import Api, token

DESK = token(["frontdesk"])


async def _booking(
    db: asyncpg.Connection, pii: PiiKeys, slot: uuid.UUID, phone: str, status: str = "confirmed"
) -> str:
    booking_id = new_id()
    location, person = await db.fetchrow(
        "SELECT location_id, person_id FROM slot_instances WHERE id = $1", slot
    )
    await db.execute(
        "INSERT INTO bookings (id, slot_id, location_id, person_id, user_id, customer_name,"
        " customer_phone, phone_hash, status, hold_expires_at)"
        " VALUES ($1, $2, $3, $4, 'u', 'Ann', $5, $6, $7, now() + interval '1 hour')",
        booking_id,
        slot,
        location,
        person,
        pii.encrypt(phone),
        pii.lookup_hash(phone),
        status,
    )
    return str(booking_id)


@pytest.fixture
def pii(settings: Settings) -> PiiKeys:
    return PiiKeys.parse(settings.pii_key)


async def test_newest_slot_first_with_gapless_pagination(
    api: Api, db: asyncpg.Connection, pii: PiiKeys
) -> None:
    location = await rows.location(db)
    slots = [
        await rows.slot(db, location, start=rows.SOON + dt.timedelta(hours=h), capacity=3)
        for h in range(3)
    ]
    made = [await _booking(db, pii, slot, f"+97150123{i:04d}") for i, slot in enumerate(slots * 2)]
    seen: list[dict] = []
    cursor = None
    while True:
        params = {"limit": "4", **({"cursor": cursor} if cursor else {})}
        page = await api.get("/admin/v1/bookings", token=DESK, params=params)
        assert page.status == 200
        seen += page.json["items"]
        cursor = page.json["next_cursor"]
        if cursor is None:
            break
    assert sorted(b["id"] for b in seen) == sorted(made)
    starts = [b["start_at"] for b in seen]
    assert starts == sorted(starts, reverse=True)


async def test_filters_by_status_location_and_phone(
    api: Api, db: asyncpg.Connection, pii: PiiKeys
) -> None:
    here, there = await rows.location(db), await rows.location(db)
    slot_here = await rows.slot(db, here, capacity=5)
    slot_there = await rows.slot(db, there, capacity=5)
    wanted = await _booking(db, pii, slot_here, "+971501234567", "held")
    await _booking(db, pii, slot_here, "+971509999999", "held")
    await _booking(db, pii, slot_there, "+971501234567", "cancelled")

    async def ids(**params: str) -> list[str]:
        response = await api.get("/admin/v1/bookings", token=DESK, params=params)
        assert response.status == 200, response.json
        return [b["id"] for b in response.json["items"]]

    assert await ids(phone="+971 50 123 4567", location_id=str(here)) == [wanted]
    assert await ids(phone="+971501234567", status="held") == [wanted]
    assert len(await ids(location_id=str(there))) == 1


async def test_unknown_status_is_400_and_bad_phone_422(api: Api) -> None:
    assert (await api.get("/admin/v1/bookings", token=DESK, params={"status": "x"})).status == 400
    assert (await api.get("/admin/v1/bookings", token=DESK, params={"phone": "12"})).status == 422


@pytest.mark.parametrize(
    ("role", "status"),
    [("admin", 200), ("manager", 200), ("frontdesk", 200), ("scheduler", 403), ("user", 403)],
)
async def test_role_matrix_for_listing_bookings(api: Api, role: str, status: int) -> None:
    assert (await api.get("/admin/v1/bookings", token=token([role]))).status == status


async def test_a_moved_booking_lists_by_its_new_slot_start(
    api: Api, db: asyncpg.Connection, pii: PiiKeys
) -> None:
    location = await rows.location(db)
    early = await rows.slot(db, location, start=rows.SOON)
    middle = await rows.slot(db, location, start=rows.SOON + dt.timedelta(hours=1))
    late = await rows.slot(db, location, start=rows.SOON + dt.timedelta(hours=2))
    moved = await _booking(db, pii, early, "+971501234567")
    stays = await _booking(db, pii, middle, "+971501234568")
    await db.execute("UPDATE bookings SET slot_id = $1 WHERE id = $2", late, uuid.UUID(moved))
    listed = await api.get(f"/admin/v1/bookings?location_id={location}", token=DESK)
    assert [b["id"] for b in listed.json["items"]] == [moved, stays]
