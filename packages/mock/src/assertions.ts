import { AssertionError } from 'node:assert';
import type { AnyJob, JobInput } from '@glasswork/core';
import type { MockDriver, RecordedMessage } from './driver.ts';
import type { PayloadMatcher } from './match.ts';
import { matches } from './match.ts';

function describeMessages(messages: readonly RecordedMessage[]): string {
  if (messages.length === 0) return 'nothing was enqueued';
  const lines = messages.slice(0, 10).map((m) => `  - ${m.job} ${JSON.stringify(m.payload)}`);
  if (messages.length > 10) lines.push(`  ... and ${messages.length - 10} more`);
  return `enqueued:\n${lines.join('\n')}`;
}

function select<J extends AnyJob>(driver: MockDriver, job: J, matcher?: PayloadMatcher<JobInput<J>>) {
  const ofJob = driver.enqueued.filter((m) => m.job === job.name);
  return {
    ofJob,
    matching: matcher === undefined ? ofJob : ofJob.filter((m) => matches(m.payload, matcher)),
  };
}

/**
 * Asserts that `job` was enqueued, with a payload matching `matcher` when given (a partial object, a
 * predicate or a vitest asymmetric matcher), exactly `times` times when given. Returns the matches.
 */
export function expectEnqueued<J extends AnyJob>(
  driver: MockDriver,
  job: J,
  matcher?: PayloadMatcher<JobInput<J>>,
  options: { times?: number } = {},
): RecordedMessage<JobInput<J>>[] {
  const { ofJob, matching } = select(driver, job, matcher);
  const ok = options.times === undefined ? matching.length > 0 : matching.length === options.times;
  if (!ok) {
    const wanted = options.times === undefined ? 'at least once' : `${options.times} time(s)`;
    throw new AssertionError({
      message:
        `Expected job "${job.name}"${matcher === undefined ? '' : ' with a matching payload'} to be enqueued ${wanted}, ` +
        `found ${matching.length}; ${describeMessages(driver.enqueued)}`,
      actual: ofJob.map((m) => m.payload),
      expected: typeof matcher === 'function' ? String(matcher) : matcher,
      operator: 'expectEnqueued',
    });
  }
  return matching as RecordedMessage<JobInput<J>>[];
}

/** Asserts that `job` was not enqueued (with a payload matching `matcher`, when given). */
export function expectNotEnqueued<J extends AnyJob>(
  driver: MockDriver,
  job: J,
  matcher?: PayloadMatcher<JobInput<J>>,
): void {
  const { matching } = select(driver, job, matcher);
  if (matching.length > 0) {
    throw new AssertionError({
      message: `Expected job "${job.name}" not to be enqueued, found ${matching.length}; ${describeMessages(matching)}`,
      actual: matching.map((m) => m.payload),
      expected: [],
      operator: 'expectNotEnqueued',
    });
  }
}

/** Asserts that nothing at all was enqueued. */
export function expectNothingEnqueued(driver: MockDriver): void {
  if (driver.enqueued.length > 0) {
    throw new AssertionError({
      message: `Expected nothing to be enqueued; ${describeMessages(driver.enqueued)}`,
      actual: driver.enqueued.map((m) => m.job),
      expected: [],
      operator: 'expectNothingEnqueued',
    });
  }
}
