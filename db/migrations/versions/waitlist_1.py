"""Waitlists (contract §10), and the indexes the hold limit and the offers need.

`waitlist_entries` keeps each entry with its customer's contact details encrypted
(like bookings: AES-GCM ciphertext, and a keyed hash of the phone), the instants
a slot must lie within (`window_start`, `window_end`, worked out from the date,
the optional wall-clock window and the location's zone when the entry is made),
its place in the queue (`seq`, arrival order) and its manage token, hashed.

An offer is a held booking that names its entry (`bookings.waitlist_entry_id`):
the unique index makes "one offer per entry, ever" a rule of the database. The
entry names its offer's booking too, so that both directions are one lookup.

A location's policy decides what is available (notice, advance, buffers), so a
change to it is announced like a change to its slots (`exposure_1`): web processes
drop the location's cached availability.

Revision ID: waitlist_1
Revises: lifecycle_1
"""

from alembic import op

revision = "waitlist_1"
down_revision = "lifecycle_1"
branch_labels = None
depends_on = None

# asyncpg prepares each statement, so they are sent one at a time.
UPGRADE = [
    """
CREATE TABLE waitlist_entries (
  id UUID PRIMARY KEY,
  seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
  location_id UUID NOT NULL REFERENCES locations(id),
  person_id UUID NULL REFERENCES people(id),
  date DATE NOT NULL,
  from_minute SMALLINT CHECK (from_minute BETWEEN 0 AND 1439),
  to_minute SMALLINT CHECK (to_minute BETWEEN 1 AND 1440),
  window_start TIMESTAMPTZ NOT NULL,
  window_end TIMESTAMPTZ NOT NULL,
  user_id TEXT NOT NULL,
  customer_name TEXT NOT NULL,
  customer_phone TEXT NOT NULL,
  customer_email TEXT,
  phone_hash TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'waiting'
    CHECK (status IN ('waiting','offered','booked','declined','lapsed','cancelled')),
  booking_id UUID NULL REFERENCES bookings(id),
  manage_token_hash TEXT NOT NULL UNIQUE,
  manage_token TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  offered_at TIMESTAMPTZ,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CHECK (to_minute IS NULL OR from_minute IS NULL OR to_minute > from_minute),
  CHECK (status IN ('waiting','cancelled') OR booking_id IS NOT NULL)
)
""",
    "CREATE INDEX waitlist_entries_waiting_idx ON waitlist_entries (location_id, date, seq)"
    " WHERE status = 'waiting'",
    "CREATE INDEX waitlist_entries_listed_idx ON waitlist_entries (location_id, date, seq)",
    "CREATE INDEX waitlist_entries_booking_idx ON waitlist_entries (booking_id)"
    " WHERE booking_id IS NOT NULL",
    "ALTER TABLE bookings ADD COLUMN waitlist_entry_id UUID NULL REFERENCES waitlist_entries(id)",
    "CREATE UNIQUE INDEX bookings_one_per_waitlist_entry ON bookings (waitlist_entry_id)"
    " WHERE waitlist_entry_id IS NOT NULL",
    "CREATE INDEX bookings_held_user_idx ON bookings (user_id, hold_expires_at)"
    " WHERE status = 'held'",
    """
CREATE FUNCTION announce_policy_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('slot_availability', NEW.id::text);
  RETURN NULL;
END
$$
""",
    "CREATE TRIGGER locations_announce_policy AFTER UPDATE OF policy ON locations"
    " FOR EACH ROW WHEN (OLD.policy IS DISTINCT FROM NEW.policy)"
    " EXECUTE FUNCTION announce_policy_change()",
]

DOWNGRADE = [
    "DROP TRIGGER locations_announce_policy ON locations",
    "DROP FUNCTION announce_policy_change()",
    "DROP INDEX bookings_held_user_idx",
    "DROP INDEX bookings_one_per_waitlist_entry",
    "ALTER TABLE bookings DROP COLUMN waitlist_entry_id",
    "DROP TABLE waitlist_entries",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
