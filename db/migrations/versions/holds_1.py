"""Index the live holds of a slot.

Every batch, confirm, cancel and the first look at a slot ask for the held
bookings of a few slots (lapsed ones to release, the first deadline to come).
`bookings_slot_idx` would walk every booking a slot ever had, which grows without
bound on a popular slot; this partial index holds only the live holds.

Revision ID: holds_1
Revises: exposure_1
"""

from alembic import op

revision = "holds_1"
down_revision = "exposure_1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX bookings_held_slot_idx ON bookings (slot_id, hold_expires_at)"
        " WHERE status = 'held'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX bookings_held_slot_idx")
