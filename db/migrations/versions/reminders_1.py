"""Planned reminders: one row per confirmed booking and offset, until it is sent.

Rows are written in the transaction that confirms (or moves) the booking and
deleted in the one that cancels it. The scan claims due rows by deleting them and
writes their `booking.reminder` events in the same transaction, so each is sent
once however many scanners run (`db/reminders.py`).

Revision ID: reminders_1
Revises: manage_1
"""

from alembic import op

revision = "reminders_1"
down_revision = "manage_1"
branch_labels = None
depends_on = None

UPGRADE = [
    """
CREATE TABLE reminders (
  booking_id UUID NOT NULL REFERENCES bookings(id) ON DELETE CASCADE,
  offset_seconds INTEGER NOT NULL CHECK (offset_seconds > 0),
  due_at TIMESTAMPTZ NOT NULL,
  request_id TEXT,
  PRIMARY KEY (booking_id, offset_seconds)
)
""",
    "CREATE INDEX reminders_due_idx ON reminders (due_at)",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE reminders")
