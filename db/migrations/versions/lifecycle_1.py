"""Catalog and staff lifecycle (contract §8): what can be retired, scoped and traced.

- `locations.active`: a location can be deactivated like a person.
- `staff_accounts.location_ids`: the locations an account is limited to (NULL: every one).
- `audit_log.location_id`: the location a change concerns, so a scoped admin sees its
  own trail; indexes for the audit list's filters, newest first.
- Changes to people and locations are announced on `slot_availability` like slot
  changes (see exposure_1), so web processes drop what they cached about them (the
  zone, whether they are active) at commit.

Revision ID: lifecycle_1
Revises: policy_1
"""

from alembic import op

revision = "lifecycle_1"
down_revision = "policy_1"
branch_labels = None
depends_on = None

STATEMENTS = [
    "ALTER TABLE locations ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE",
    "ALTER TABLE staff_accounts ADD COLUMN location_ids UUID[]"
    " CHECK (location_ids IS NULL OR cardinality(location_ids) > 0)",
    "ALTER TABLE audit_log ADD COLUMN location_id UUID",
    "CREATE INDEX audit_log_target_idx ON audit_log (target_type, target_id, id)",
    "CREATE INDEX audit_log_actor_idx ON audit_log (actor, id)",
    """
CREATE FUNCTION announce_catalog_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'locations' THEN
    PERFORM pg_notify('slot_availability', id::text)
    FROM (SELECT DISTINCT id FROM changed_rows) AS changed;
  ELSE
    PERFORM pg_notify('slot_availability', location_id::text)
    FROM (SELECT DISTINCT location_id FROM changed_rows) AS changed;
  END IF;
  RETURN NULL;
END
$$
""",
    "CREATE TRIGGER locations_announce_update AFTER UPDATE ON locations"
    " REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT"
    " EXECUTE FUNCTION announce_catalog_changes()",
    "CREATE TRIGGER people_announce_update AFTER UPDATE ON people"
    " REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT"
    " EXECUTE FUNCTION announce_catalog_changes()",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER people_announce_update ON people")
    op.execute("DROP TRIGGER locations_announce_update ON locations")
    op.execute("DROP FUNCTION announce_catalog_changes()")
    op.execute("DROP INDEX audit_log_actor_idx")
    op.execute("DROP INDEX audit_log_target_idx")
    op.execute("ALTER TABLE audit_log DROP COLUMN location_id")
    op.execute("ALTER TABLE staff_accounts DROP COLUMN location_ids")
    op.execute("ALTER TABLE locations DROP COLUMN active")
