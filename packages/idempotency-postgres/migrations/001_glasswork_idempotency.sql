-- @glasswork/idempotency-postgres: the table of postgresStore() with its default name.
-- Rename both glasswork_idempotency occurrences if you pass another table; keep the columns as they are.
CREATE TABLE IF NOT EXISTS glasswork_idempotency (
  key text PRIMARY KEY,
  status text NOT NULL CHECK (status IN ('in_progress', 'completed')),
  token text NOT NULL,
  hash text,
  result jsonb,
  expires_at timestamptz NOT NULL
);

CREATE INDEX IF NOT EXISTS glasswork_idempotency_expires_at ON glasswork_idempotency (expires_at);
