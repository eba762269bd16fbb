"""Manage links (contract §9): each booking keeps its token hashed, and sealed.

`manage_token_hash` is a keyed hash of the token (`common/link_tokens.py`), the only
way a link finds its booking; `manage_token` is the token sealed with the PII key,
so confirm replies and notifications can carry it again. `locale` is the customer's
language when the hold request said it (`Accept-Language`), for notifications.

Revision ID: manage_1
Revises: waitlist_1
"""

from alembic import op

revision = "manage_1"
down_revision = "waitlist_1"
branch_labels = None
depends_on = None

UPGRADE = [
    "ALTER TABLE bookings ADD COLUMN manage_token_hash TEXT",
    "ALTER TABLE bookings ADD COLUMN manage_token TEXT",
    "ALTER TABLE bookings ADD COLUMN locale TEXT",
    "CREATE UNIQUE INDEX bookings_manage_token_idx ON bookings (manage_token_hash)"
    " WHERE manage_token_hash IS NOT NULL",
]

DOWNGRADE = [
    "DROP INDEX bookings_manage_token_idx",
    "ALTER TABLE bookings DROP COLUMN locale",
    "ALTER TABLE bookings DROP COLUMN manage_token",
    "ALTER TABLE bookings DROP COLUMN manage_token_hash",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
