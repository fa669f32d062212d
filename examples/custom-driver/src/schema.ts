/** The tables the driver needs. Run once (it is idempotent); keep it in your migrations. */
export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS glasswork_messages (
  id            bigserial   PRIMARY KEY,
  queue         text        NOT NULL,
  message_id    text        NOT NULL UNIQUE,
  body          text        NOT NULL,
  attributes    jsonb       NOT NULL DEFAULT '{}',
  group_id      text,
  dedupe_id     text,
  sent_at       double precision NOT NULL,
  visible_at    double precision NOT NULL,
  receive_count integer     NOT NULL DEFAULT 0,
  received_at   double precision,
  receipt       text
);
CREATE INDEX IF NOT EXISTS glasswork_messages_ready ON glasswork_messages (queue, visible_at, id);
CREATE INDEX IF NOT EXISTS glasswork_messages_group ON glasswork_messages (queue, group_id, id);
CREATE UNIQUE INDEX IF NOT EXISTS glasswork_messages_dedupe ON glasswork_messages (queue, dedupe_id)
  WHERE dedupe_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS glasswork_dead_letters (
  id            bigserial   PRIMARY KEY,
  queue         text        NOT NULL,
  message_id    text        NOT NULL,
  body          text        NOT NULL,
  attributes    jsonb       NOT NULL DEFAULT '{}',
  receive_count integer     NOT NULL,
  info          jsonb       NOT NULL,
  dead_at       double precision NOT NULL
);
`;
