import type { SQSClient } from '@aws-sdk/client-sqs';
import type { AnyJob } from '@glasswork/core';
import { createClient, defineJob } from '@glasswork/core';
import { sqsDriver } from '@glasswork/sqs';
import type { LocalSqs } from '@glasswork/sqs/local';
import * as v from 'valibot';

/** One bad enqueue: what error came back, and how many messages went out. */
export interface ProducerResult {
  readonly name: string;
  readonly expected: string;
  readonly error: string;
  readonly sent: number;
  readonly ok: boolean;
}

const strict = defineJob({
  name: 'strict',
  queue: 'jobs',
  schema: v.object({ at: v.optional(v.date()), n: v.optional(v.number()), text: v.optional(v.string()) }),
});
const named = defineJob({ name: 'named', queue: 'jobs', schema: v.object({ text: v.string() }) });
const loose = defineJob<unknown>({ name: 'loose', queue: 'jobs' });

/** Counts message-sending requests that reach SQS. */
function counting(client: SQSClient) {
  let sends = 0;
  return {
    client: {
      send(command: { constructor: { name: string } }, options?: unknown) {
        if (/^SendMessage/.test(command.constructor.name)) sends++;
        return client.send(command as never, options as never);
      },
    },
    sends: () => sends,
  };
}

/**
 * Payloads and queues a producer must refuse before sending anything, and what happens to the values JSON
 * changes on the way (a Date, a function inside an object, NaN).
 */
export async function runProducer(sqs: LocalSqs): Promise<ProducerResult[]> {
  const queue = sqs.createQueue({ name: 'hostile-producer' });
  const cycle: Record<string, unknown> = { text: 'loop' };
  cycle.self = cycle;
  const deep: unknown[] = [];
  let cursor = deep;
  for (let i = 0; i < 20_000; i++) {
    const inner: unknown[] = [];
    cursor.push(inner);
    cursor = inner;
  }
  const cases: [string, string, AnyJob, unknown, Record<string, unknown>?][] = [
    ['a BigInt', 'InvalidJobPayloadError', loose, { n: 10n }],
    ['a cycle', 'InvalidJobPayloadError', loose, cycle],
    ['a function as the payload', 'InvalidJobPayloadError', loose, () => 1],
    ['a Symbol as the payload', 'InvalidJobPayloadError', loose, Symbol('s')],
    [
      'a Date where the schema wants one (it would arrive as a string)',
      'InvalidJobPayloadError',
      strict,
      { at: new Date() },
    ],
    [
      'NaN where the schema wants a number (JSON makes it null)',
      'InvalidJobPayloadError',
      strict,
      { n: Number.NaN },
    ],
    [
      'a function where the schema wants a string (JSON drops it)',
      'InvalidJobPayloadError',
      named,
      { text: () => 'x' },
    ],
    ['an array nested 20,000 deep', 'InvalidJobPayloadError', loose, deep],
    ['a payload of 1 MiB + 1 byte', 'PayloadTooLargeError', loose, 'x'.repeat(1_048_576)],
    ['an unconfigured queue name', 'ConfigurationError', loose, {}, { queue: 'not-configured' }],
    ['a queue name with a space', 'ConfigurationError', loose, {}, { queue: 'has space', unmapped: true }],
    [
      'a queue name of 81 characters',
      'ConfigurationError',
      loose,
      {},
      { queue: 'q'.repeat(81), unmapped: true },
    ],
    ['an empty queue name', 'ConfigurationError', loose, {}, { queue: '', unmapped: true }],
    ['a job id with a space', 'ConfigurationError', loose, {}, { id: 'has space' }],
    ['a Date without a schema', 'sent: the handler gets its ISO string', loose, { at: new Date(0) }],
    [
      'a function inside an object without a schema',
      'sent: the field is dropped',
      loose,
      { text: 'x', fn: () => 1 },
    ],
    [
      'NaN and undefined without a schema',
      'sent: NaN becomes null, undefined is dropped',
      loose,
      { n: Number.NaN, u: undefined },
    ],
  ];
  const results: ProducerResult[] = [];
  for (const [name, expected, job, payload, extra = {}] of cases) {
    const { unmapped, ...options } = extra;
    const counter = counting(sqs.client);
    const driver = sqsDriver({
      client: counter.client,
      endpoint: sqs.endpoint,
      ...(unmapped ? {} : { queues: { jobs: queue.url } }),
    });
    let error = '';
    try {
      await createClient({ driver }).enqueue(job, payload as never, options as never);
    } catch (e) {
      error = `${(e as Error).name}: ${(e as Error).message}`;
    }
    const sent = counter.sends();
    const ok = expected.startsWith('sent')
      ? error === '' && sent === 1
      : error.startsWith(`${expected}:`) && sent === 0;
    results.push({ name, expected, error: error || '(none)', sent, ok });
  }
  return results;
}
