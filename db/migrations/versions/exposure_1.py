"""Announce slot changes: NOTIFY slot_availability with the location id.

Web processes keep computed availability in memory and drop a location's entries
when it is announced (`web/availability_cache.py`). Notifications are sent at
commit, so a reader never learns of a change it cannot yet see. Statement-level
triggers with transition tables send one notification per location and
statement, so bulk generation pays once per COPY or INSERT, not per row.

Revision ID: exposure_1
Revises: 0001
"""

from alembic import op

revision = "exposure_1"
down_revision = "0001"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE FUNCTION announce_slot_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('slot_availability', location_id::text)
  FROM (SELECT DISTINCT location_id FROM changed_slots) AS changed;
  RETURN NULL;
END
$$
"""

TRIGGERS = {
    "slot_instances_announce_insert": "AFTER INSERT ON slot_instances"
    " REFERENCING NEW TABLE AS changed_slots",
    "slot_instances_announce_update": "AFTER UPDATE ON slot_instances"
    " REFERENCING NEW TABLE AS changed_slots",
    "slot_instances_announce_delete": "AFTER DELETE ON slot_instances"
    " REFERENCING OLD TABLE AS changed_slots",
}


def upgrade() -> None:
    op.execute(FUNCTION)
    for name, when in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT"
            " EXECUTE FUNCTION announce_slot_changes()"
        )


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON slot_instances")
    op.execute("DROP FUNCTION announce_slot_changes()")
