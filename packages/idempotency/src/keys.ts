import type { AnyJob } from '@glasswork/core';
import { ConfigurationError, isJob } from '@glasswork/core';
import { InvalidIdempotencyKeyError, MAX_KEY_LENGTH } from './errors.ts';
import type { JobKeyFunction, JobKeyRule, KeyFunction, KeyInfo } from './types.ts';

/**
 * The idempotency key of one job, derived from its validated payload (typed by the job's schema).
 * Return `false` for deliveries that should run without idempotency.
 */
export function jobKey<J extends AnyJob>(job: J, key: JobKeyFunction<J>): JobKeyRule {
  if (!isJob(job)) throw new ConfigurationError('jobKey needs a job defined with defineJob');
  if (typeof key !== 'function') throw new ConfigurationError(`jobKey("${job.name}") needs a key function`);
  return { job, key };
}

/**
 * One part of a stored key: `\` and `:` are escaped, so that parts joined with `:` can never be read
 * another way (job `a:b` with key `c` is `a\:b:c`, job `a` with key `b:c` is `a:b\:c`).
 */
export function keyPart(part: string): string {
  return part.includes(':') || part.includes('\\') ? part.replace(/[\\:]/g, '\\$&') : part;
}

const byJobId: KeyFunction = (_payload, info) => info.jobId;

/** Resolves the key function of each job once, from the plugin's `key` and `jobs` options. */
export function keyResolver(
  key: KeyFunction | undefined,
  rules: readonly JobKeyRule[] = [],
): (payload: unknown, info: KeyInfo) => string | false {
  if (key !== undefined && typeof key !== 'function') {
    throw new ConfigurationError(
      'idempotencyPlugin: key must be a function (payload, info) => string | false',
    );
  }
  const perJob = new Map<string, KeyFunction<any>>();
  for (const rule of rules) {
    if (perJob.has(rule.job.name)) {
      throw new ConfigurationError(
        `idempotencyPlugin: job "${rule.job.name}" has two key rules in jobs: keep one`,
      );
    }
    perJob.set(rule.job.name, rule.key);
  }
  const fallback = key ?? byJobId;
  return (payload, info) => {
    const derived = (perJob.get(info.jobName) ?? fallback)(payload, info);
    if (derived === false) return false;
    if (typeof derived !== 'string') {
      throw new InvalidIdempotencyKeyError(info.jobName, `is ${describe(derived)}, not a string`);
    }
    if (derived === '') throw new InvalidIdempotencyKeyError(info.jobName, 'is empty');
    const full = `${keyPart(info.jobName)}:${keyPart(derived)}`;
    const bytes = Buffer.byteLength(full);
    if (bytes > MAX_KEY_LENGTH) {
      throw new InvalidIdempotencyKeyError(info.jobName, `is ${bytes} bytes long with its prefix`);
    }
    return full;
  };
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
