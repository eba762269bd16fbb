"""Webhooks and their deliveries (contract §9).

A webhook's secret is sealed with the PII key (it signs every delivery, so it
must be read back). A delivery is one event for one webhook, keyed by both: the
event id is the Standard Webhooks `webhook-id`, the same on every attempt, and the
relay may fan an event out twice (after a crash) without sending it twice.

Revision ID: webhooks_1
Revises: reminders_1
"""

from alembic import op

revision = "webhooks_1"
down_revision = "reminders_1"
branch_labels = None
depends_on = None

UPGRADE = [
    """
CREATE TABLE webhooks (
  id UUID PRIMARY KEY,
  url TEXT NOT NULL,
  events TEXT[] NOT NULL,
  include_customer BOOLEAN NOT NULL DEFAULT FALSE,
  secret TEXT NOT NULL,
  active BOOLEAN NOT NULL DEFAULT TRUE,
  created_by TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
""",
    """
CREATE TABLE webhook_deliveries (
  webhook_id UUID NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  event_id UUID NOT NULL,
  event_type TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','delivered','failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_status INTEGER,
  last_error TEXT,
  next_attempt_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  delivered_at TIMESTAMPTZ,
  PRIMARY KEY (webhook_id, event_id)
)
""",
    "CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (webhook_id, next_attempt_at)"
    " WHERE status = 'pending'",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE webhook_deliveries")
    op.execute("DROP TABLE webhooks")
