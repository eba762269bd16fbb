"""Each location keeps its booking policy (contract §10, `domain/policy.py`).

An empty object is the default policy: no minimum notice, no maximum advance, no buffer.

Revision ID: policy_1
Revises: idempotency_1
"""

from alembic import op

revision = "policy_1"
down_revision = "idempotency_1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE locations ADD COLUMN policy JSONB NOT NULL DEFAULT '{}'")


def downgrade() -> None:
    op.execute("ALTER TABLE locations DROP COLUMN policy")
