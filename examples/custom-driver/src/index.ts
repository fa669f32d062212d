export type { PostgresDriverOptions, PostgresQueueOptions, SqlClient } from './driver.ts';
export { postgresQueueDriver } from './driver.ts';
export { SCHEMA_SQL } from './schema.ts';
