"""Keep each booking's slot start on the booking, indexed for the staff list.

`GET /admin/v1/bookings` lists newest slot first. Ordered by the slot's start
through a join, every page sorted every booking ever made; with the start on
the booking and an index in list order, a page reads only its own rows. A
trigger fills the column from the slot on insert and on every move to another
slot, so no writer can get it wrong (a slot's start never changes).

Revision ID: bookings_2
Revises: holds_1
"""

from alembic import op

revision = "bookings_2"
down_revision = "holds_1"
branch_labels = None
depends_on = None

# asyncpg prepares each statement, so they are sent one at a time.
UPGRADE = [
    "ALTER TABLE bookings ADD COLUMN slot_start_at TIMESTAMPTZ",
    "UPDATE bookings b SET slot_start_at = s.start_at FROM slot_instances s WHERE s.id = b.slot_id",
    "ALTER TABLE bookings ALTER COLUMN slot_start_at SET NOT NULL",
    """
CREATE FUNCTION booking_slot_start() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.slot_start_at := (SELECT start_at FROM slot_instances WHERE id = NEW.slot_id);
  RETURN NEW;
END
$$
""",
    "CREATE TRIGGER bookings_slot_start BEFORE INSERT OR UPDATE OF slot_id ON bookings"
    " FOR EACH ROW EXECUTE FUNCTION booking_slot_start()",
    "CREATE INDEX bookings_list_idx ON bookings (slot_start_at DESC, id DESC)",
    "CREATE INDEX bookings_location_list_idx"
    " ON bookings (location_id, slot_start_at DESC, id DESC)",
]

DOWNGRADE = [
    "DROP INDEX bookings_location_list_idx",
    "DROP INDEX bookings_list_idx",
    "DROP TRIGGER bookings_slot_start ON bookings",
    "DROP FUNCTION booking_slot_start()",
    "ALTER TABLE bookings DROP COLUMN slot_start_at",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
