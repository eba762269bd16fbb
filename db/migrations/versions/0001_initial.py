"""Initial schema: catalog, rules, slots, bookings, and the platform's own tables.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = """
CREATE TABLE locations (
  id UUID PRIMARY KEY,
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  timezone TEXT NOT NULL DEFAULT 'Asia/Dubai',
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE people (
  id UUID PRIMARY KEY,
  location_id UUID NOT NULL REFERENCES locations(id),
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  skills TEXT[] NOT NULL DEFAULT '{}',
  active BOOLEAN NOT NULL DEFAULT TRUE,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX people_location_idx ON people (location_id, id);
CREATE INDEX people_skills_idx ON people USING gin (skills);

-- Hours are minutes of the day: a rule may end at 24:00, which asyncpg cannot
-- decode from a TIME column.
CREATE TABLE availability_rules (
  id UUID PRIMARY KEY,
  location_id UUID NOT NULL REFERENCES locations(id),
  person_id UUID NULL REFERENCES people(id),
  rule_kind TEXT NOT NULL CHECK (rule_kind IN ('WEEKLY','DATE_RANGE','EXCEPTION')),
  days_of_week SMALLINT[] CHECK (days_of_week <@ ARRAY[1,2,3,4,5,6,7]::SMALLINT[]),
  start_minute SMALLINT NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
  end_minute SMALLINT NOT NULL CHECK (end_minute BETWEEN 1 AND 1440),
  slot_capacity SMALLINT NOT NULL DEFAULT 1 CHECK (slot_capacity >= 1),
  slot_granularity_minutes SMALLINT NOT NULL DEFAULT 15 CHECK (slot_granularity_minutes >= 1),
  slot_duration_minutes SMALLINT NOT NULL DEFAULT 30,
  valid_from DATE,
  valid_to DATE,
  is_closed BOOLEAN NOT NULL DEFAULT FALSE,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CHECK (end_minute > start_minute),
  CHECK (slot_duration_minutes >= slot_granularity_minutes),
  CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from),
  UNIQUE NULLS NOT DISTINCT
    (location_id, person_id, rule_kind, days_of_week, start_minute, end_minute,
     valid_from, valid_to)
);
CREATE INDEX availability_rules_owner_idx ON availability_rules (location_id, person_id);

CREATE TABLE slot_instances (
  id UUID PRIMARY KEY,
  location_id UUID NOT NULL REFERENCES locations(id),
  person_id UUID NULL REFERENCES people(id),
  date DATE NOT NULL,
  start_at TIMESTAMPTZ NOT NULL,
  end_at TIMESTAMPTZ NOT NULL,
  capacity SMALLINT NOT NULL CHECK (capacity >= 1),
  booked SMALLINT NOT NULL DEFAULT 0 CHECK (booked >= 0),
  hold SMALLINT NOT NULL DEFAULT 0 CHECK (hold >= 0),
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','partial','full','blocked')),
  version BIGINT NOT NULL DEFAULT 0,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CHECK (end_at > start_at),
  CHECK (booked + hold <= capacity),
  UNIQUE NULLS NOT DISTINCT (location_id, person_id, start_at)
);
CREATE INDEX slot_instances_location_date_idx ON slot_instances (location_id, date, start_at);
CREATE INDEX slot_instances_person_start_idx ON slot_instances (person_id, start_at)
  WHERE person_id IS NOT NULL;

-- customer_phone / customer_email hold AES-GCM ciphertext; phone_hash is an HMAC of
-- the E.164 phone, used for lookups and the per-day uniqueness below.
CREATE TABLE bookings (
  id UUID PRIMARY KEY,
  slot_id UUID NOT NULL REFERENCES slot_instances(id),
  location_id UUID NOT NULL REFERENCES locations(id),
  person_id UUID NULL REFERENCES people(id),
  user_id TEXT NOT NULL,
  customer_name TEXT NOT NULL,
  customer_phone TEXT NOT NULL,
  customer_email TEXT,
  phone_hash TEXT NOT NULL,
  notes TEXT,
  status TEXT NOT NULL CHECK (status IN ('held','confirmed','cancelled','expired')),
  hold_expires_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  created_day DATE GENERATED ALWAYS AS ((created_at AT TIME ZONE 'UTC')::date) STORED,
  confirmed_at TIMESTAMPTZ,
  cancelled_at TIMESTAMPTZ,
  expired_at TIMESTAMPTZ,
  cancel_reason TEXT,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CHECK (status <> 'held' OR hold_expires_at IS NOT NULL)
);
CREATE UNIQUE INDEX bookings_one_active_per_phone_slot_day
  ON bookings (slot_id, phone_hash, created_day) WHERE status IN ('held','confirmed');
CREATE INDEX bookings_slot_idx ON bookings (slot_id);
CREATE INDEX bookings_phone_idx ON bookings (phone_hash);
CREATE INDEX bookings_user_idx ON bookings (user_id);
CREATE INDEX bookings_held_expiry_idx ON bookings (hold_expires_at) WHERE status = 'held';
CREATE INDEX bookings_location_idx ON bookings (location_id, created_at);

CREATE TABLE staff_accounts (
  id UUID PRIMARY KEY,
  email TEXT NOT NULL UNIQUE CHECK (email = lower(email)),
  password_hash TEXT NOT NULL,
  roles TEXT[] NOT NULL
    CHECK (roles <@ ARRAY['admin','manager','scheduler','frontdesk','user']::TEXT[]),
  active BOOLEAN NOT NULL DEFAULT TRUE,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE idempotency_records (
  actor TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  status_code SMALLINT NOT NULL,
  body JSONB NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (actor, key)
);
CREATE INDEX idempotency_records_expiry_idx ON idempotency_records (expires_at);

CREATE TABLE jobs (
  id UUID PRIMARY KEY,
  kind TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued','running','succeeded','failed')),
  params JSONB NOT NULL,
  result JSONB,
  error TEXT,
  created_by TEXT,
  request_id TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  started_at TIMESTAMPTZ,
  finished_at TIMESTAMPTZ
);

CREATE TABLE outbox (
  id UUID PRIMARY KEY,
  event_type TEXT NOT NULL,
  aggregate_id UUID NOT NULL,
  payload JSONB NOT NULL,
  request_id TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  published_at TIMESTAMPTZ,
  attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;

CREATE TABLE audit_log (
  id UUID PRIMARY KEY,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target_type TEXT NOT NULL,
  target_id TEXT,
  details JSONB NOT NULL DEFAULT '{}',
  request_id TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
"""

TABLES = [
    "audit_log",
    "outbox",
    "jobs",
    "idempotency_records",
    "staff_accounts",
    "bookings",
    "slot_instances",
    "availability_rules",
    "people",
    "locations",
]


def upgrade() -> None:
    # asyncpg prepares each statement, so they must be sent one at a time.
    for statement in SCHEMA.split(";\n"):
        if statement.strip():
            op.execute(statement)


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TABLE {table}")
