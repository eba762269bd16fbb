"""An idempotent record may hold an engine outcome, which has no HTTP status.

The workers store what they decided (a booking, or a refusal) and the web renders
it on replay (`common/stored_replies.py`); only replies the web made keep a status.

Revision ID: idempotency_1
Revises: bookings_2
"""

from alembic import op

revision = "idempotency_1"
down_revision = "bookings_2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE idempotency_records ALTER COLUMN status_code DROP NOT NULL")


def downgrade() -> None:
    op.execute("DELETE FROM idempotency_records WHERE status_code IS NULL")
    op.execute("ALTER TABLE idempotency_records ALTER COLUMN status_code SET NOT NULL")
