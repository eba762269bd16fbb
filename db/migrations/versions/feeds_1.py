"""Calendar feeds: one revocable token per person, stored only as a keyed hash.

Revision ID: feeds_1
Revises: webhooks_1
"""

from alembic import op

revision = "feeds_1"
down_revision = "webhooks_1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
CREATE TABLE calendar_feeds (
  person_id UUID PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,
  token_hash TEXT NOT NULL UNIQUE,
  created_by TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""
    )


def downgrade() -> None:
    op.execute("DROP TABLE calendar_feeds")
