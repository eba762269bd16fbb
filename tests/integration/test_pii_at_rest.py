"""Customer phone and email are ciphertext in the database, across key rotations."""

import asyncio
import datetime as dt
import subprocess

import asyncpg
import pytest
from pgserver._commands import POSTGRES_BIN_PATH

from common.ids import new_id
from common.pii import PiiKeys, generate_key
from common.settings import Settings
from db.engine import create_engine
from db.pii import reencrypt

PHONE, EMAIL = "+971501234567", "customer@example.org"
# pgserver's pg_dump (16) dumps both the embedded server and an older local one.
PG_DUMP = str(POSTGRES_BIN_PATH / "pg_dump")


async def _booking(db: asyncpg.Connection, pii: PiiKeys) -> object:
    location, slot, booking = new_id(), new_id(), new_id()
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    await db.execute("INSERT INTO locations (id, name) VALUES ($1, 'L')", location)
    await db.execute(
        "INSERT INTO slot_instances (id, location_id, date, start_at, end_at, capacity, booked)"
        " VALUES ($1, $2, $3, $4, $5, 1, 1)",
        slot,
        location,
        start.date(),
        start,
        start + dt.timedelta(minutes=30),
    )
    await db.execute(
        "INSERT INTO bookings (id, slot_id, location_id, user_id, customer_name, customer_phone,"
        " customer_email, phone_hash, status) VALUES ($1, $2, $3, 'u', 'Ann', $4, $5, $6,"
        " 'confirmed')",
        booking,
        slot,
        location,
        pii.encrypt(PHONE),
        pii.encrypt(EMAIL),
        pii.lookup_hash(PHONE),
    )
    return booking


async def test_database_dump_shows_no_phone_or_email(db: asyncpg.Connection, settings: Settings):
    await _booking(db, PiiKeys.parse(settings.pii_key))
    dump = await asyncio.to_thread(
        subprocess.run,
        [PG_DUMP, "--data-only", settings.database_url],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Ann" in dump.stdout
    assert PHONE not in dump.stdout
    assert PHONE[1:] not in dump.stdout
    assert EMAIL not in dump.stdout


@pytest.fixture
async def rotated(settings: Settings) -> tuple[PiiKeys, PiiKeys]:
    old = PiiKeys.parse(settings.pii_key)
    new_key = f"k9:{generate_key()}"
    return old, PiiKeys.parse(f"{new_key},{settings.pii_key}")


async def test_rotation_keeps_old_rows_readable_then_reencrypts_them(
    db: asyncpg.Connection, settings: Settings, rotated: tuple[PiiKeys, PiiKeys]
) -> None:
    old, new = rotated
    booking = await _booking(db, old)
    row = await db.fetchrow("SELECT customer_phone, customer_email FROM bookings")
    assert new.decrypt(row["customer_phone"]) == PHONE

    engine = create_engine(settings.database_url, pool_size=1)
    try:
        assert await reencrypt(engine, new, batch_size=1) == 1
        assert await reencrypt(engine, new) == 0
    finally:
        await engine.dispose()

    row = await db.fetchrow(
        "SELECT customer_phone, customer_email, phone_hash FROM bookings WHERE id = $1", booking
    )
    assert row["customer_phone"].startswith("k9:")
    assert row["customer_email"].startswith("k9:")
    assert new.decrypt(row["customer_phone"]) == PHONE
    assert new.decrypt(row["customer_email"]) == EMAIL
    assert row["phone_hash"] == new.lookup_hash(PHONE)
