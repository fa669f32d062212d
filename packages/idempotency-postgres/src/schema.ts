import { ConfigurationError } from '@glasswork/core';

/** The table the store uses unless told otherwise. */
export const DEFAULT_TABLE = 'glasswork_idempotency';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/;

/** Checks a table name (optionally schema-qualified) before it is put into SQL. */
export function checkTable(table: string): string {
  if (typeof table !== 'string' || !IDENTIFIER.test(table)) {
    throw new ConfigurationError(
      `postgresStore: table "${String(table)}" is not a plain identifier: use letters, digits and _ ` +
        '(optionally "schema.table")',
    );
  }
  return table;
}

/**
 * The statements that create the store's table and its expiry index, one per entry (PGlite's `query` and
 * pg's extended protocol run one statement at a time). `migrations/001_glasswork_idempotency.sql` in this
 * package holds the same for the default table name.
 */
export function migrationStatements(table: string = DEFAULT_TABLE): string[] {
  checkTable(table);
  const index = `${table.split('.').at(-1)}_expires_at`;
  return [
    `CREATE TABLE IF NOT EXISTS ${table} (
  key text PRIMARY KEY,
  status text NOT NULL CHECK (status IN ('in_progress', 'completed')),
  token text NOT NULL,
  hash text,
  result jsonb,
  expires_at timestamptz NOT NULL
)`,
    `CREATE INDEX IF NOT EXISTS ${index} ON ${table} (expires_at)`,
  ];
}

/** The migration as one SQL script, for your migration tool. */
export function migrationSql(table: string = DEFAULT_TABLE): string {
  return `${migrationStatements(table).join(';\n\n')};\n`;
}
