import { createHash } from 'node:crypto';
import { ConfigurationError, decodeEnvelope } from '@glasswork/core';
import { ScheduleError } from './errors.ts';

/** What EventBridge Scheduler accepts as a schedule or group name. */
export const SCHEDULE_NAME = /^[0-9A-Za-z_.-]{1,64}$/;

/** Schedules of periodic jobs start with this; `syncSchedules` manages these and no others. */
export const PERIODIC_PREFIX = 'gwp-';

const VERBATIM_PREFIX = 'gw-';
const HASHED_PREFIX = 'gw.';
const SAFE_ID = /^[0-9A-Za-z_.-]+$/;

/**
 * The schedule name of a one-time job: `gw-<job id>` when the id is made of allowed characters and fits,
 * else `gw.<first 160 bits of its SHA-256>`. The two forms cannot meet (they differ in the third
 * character) and each maps ids one to one, so distinct jobs never share a schedule; nothing is replaced
 * or truncated, which could make two ids collide.
 */
export function oneTimeScheduleName(jobId: string): string {
  if (SAFE_ID.test(jobId) && VERBATIM_PREFIX.length + jobId.length <= 64) return VERBATIM_PREFIX + jobId;
  return HASHED_PREFIX + createHash('sha256').update(jobId, 'utf8').digest('hex').slice(0, 40);
}

/** The schedule name of a periodic job: `gwp-<name>`. The name is checked, never rewritten. */
export function periodicScheduleName(name: string): string {
  return PERIODIC_PREFIX + name;
}

/** Throws a `ConfigurationError` unless `name` is a valid schedule group name. */
export function assertGroupName(name: string): void {
  if (typeof name !== 'string' || !SCHEDULE_NAME.test(name)) {
    throw new ConfigurationError(
      `Invalid schedule group name ${JSON.stringify(name)}: use 1-64 letters, digits, '-', '_' or '.'`,
    );
  }
}

/**
 * A schedule of this name exists: it must be the same job (an id scheduled twice keeps its first schedule),
 * not another job that happens to use the same id, which would otherwise be dropped without a word.
 */
export function assertSameJob(name: string, jobId: string, jobName: string, existingInput: unknown): void {
  if (typeof existingInput !== 'string') return;
  const decoded = decodeEnvelope(existingInput);
  if (decoded.ok && decoded.envelope.name !== jobName) {
    throw new ScheduleError(
      `Job id "${jobId}" is already scheduled (schedule "${name}") for job "${decoded.envelope.name}", not "${jobName}": ` +
        'one-time schedules are named by job id, so give jobs of different types distinct ids (e.g. prefix them with the job name)',
    );
  }
}
