export { DEFAULT_TABLE, migrationSql, migrationStatements } from './schema.ts';
export type { PgQueryable, PostgresStore, PostgresStoreOptions } from './store.ts';
export { postgresStore } from './store.ts';
