import { defineJob, encodeEnvelope, JOB_NAME_ATTRIBUTE } from '@glasswork/core';
import * as v from 'valibot';

/** The job the hostile messages aim at: a string field, and anything in `extra`. */
export const target = defineJob({
  name: 'hostile-target',
  schema: v.object({ text: v.string(), extra: v.optional(v.unknown()) }),
});

/** What must become of a message: completed, or dead-lettered with a reason matching `reason`. */
export type Expectation = { readonly outcome: 'ack' } | { readonly outcome: 'dead'; readonly reason: RegExp };

export interface HostileMessage {
  readonly name: string;
  readonly body: string;
  /** String message attributes to send with it. */
  readonly attributes?: Readonly<Record<string, string>>;
  readonly expect: Expectation;
  /** Why SQS does not take this body at all, when it does not (it is then run through `worker.run` only). */
  readonly sqsRefuses?: string;
  /** Why the dead-letter copy cannot carry the reason attribute, when it cannot. */
  readonly noRoomForReason?: string;
}

export const MiB = 1_048_576;
const now = () => new Date().toISOString();

/** A version 1 envelope as our producer writes it, with the payload's JSON given as text. */
export function envelopeWith(payloadJson: string, fields: Record<string, unknown> = {}): string {
  const base = encodeEnvelope({
    id: `hostile-${crypto.randomUUID()}`,
    name: target.name,
    payloadJson,
    enqueuedAt: now(),
    firstEnqueuedAt: now(),
    priorAttempts: 0,
    meta: {},
  });
  if (Object.keys(fields).length === 0) return base;
  const raw = JSON.parse(base) as Record<string, unknown>;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) delete raw[key];
    else raw[key] = value;
  }
  return JSON.stringify(raw);
}

const good = (text: string) => envelopeWith(JSON.stringify({ text }));
const dead = (reason: RegExp): Expectation => ({ outcome: 'dead', reason });
const ack: Expectation = { outcome: 'ack' };
const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

/**
 * Messages no producer of ours would send. Each must end completed or dead-lettered with its reason, the
 * worker must stay up, and every other message of its batch must complete.
 */
export function hostileMessages(): HostileMessage[] {
  const whole = good('whole');
  return [
    { name: 'not JSON', body: 'hello, I am not JSON', expect: dead(/^malformed: the body is not JSON$/) },
    {
      name: 'truncated JSON',
      body: whole.slice(0, Math.floor(whole.length / 2)),
      expect: dead(/^malformed: the body is not JSON$/),
    },
    {
      name: 'a JSON array',
      body: '[1,2,3]',
      expect: dead(/^malformed: the body is JSON but not an object$/),
    },
    { name: 'a JSON number', body: '42', expect: dead(/^malformed: the body is JSON but not an object$/) },
    { name: 'JSON null', body: 'null', expect: dead(/^malformed: the body is JSON but not an object$/) },
    {
      name: 'an empty object',
      body: '{}',
      expect: dead(/^malformed: the body is not a Glasswork envelope$/),
    },
    {
      name: 'an envelope of an unknown version',
      body: envelopeWith('{"text":"x"}', { v: 2 }),
      expect: dead(/unknown envelope version 2$/),
    },
    {
      name: 'no job name',
      body: envelopeWith('{"text":"x"}', { name: undefined }),
      expect: dead(/^malformed: the envelope has no job name$/),
    },
    {
      name: 'a job name that is a number',
      body: envelopeWith('{"text":"x"}', { name: 42 }),
      expect: dead(/^malformed: the envelope has no job name$/),
    },
    {
      name: 'an unknown job',
      body: envelopeWith('{"text":"x"}', { name: 'no-such-job' }),
      expect: dead(/this worker has no handler for job "no-such-job"$/),
    },
    {
      name: 'a payload that fails the schema',
      body: envelopeWith('{"text":5}'),
      expect: dead(/the payload does not match the schema: .*text/),
    },
    {
      name: 'a negative priorAttempts',
      body: envelopeWith('{"text":"x"}', { priorAttempts: -1 }),
      expect: dead(/^malformed: the envelope has an invalid priorAttempts$/),
    },
    {
      name: 'an invalid enqueuedAt',
      body: envelopeWith('{"text":"x"}', { enqueuedAt: 'yesterday-ish' }),
      expect: dead(/^malformed: the envelope has no valid enqueuedAt$/),
    },
    {
      name: 'a body nested 100,000 deep',
      body: deep(100_000),
      expect: dead(/^malformed: the body is JSON but not an object$/),
    },
    {
      name: 'a payload nested 100,000 deep',
      body: envelopeWith(`{"text":"deep","extra":${deep(100_000)}}`),
      // The schema takes it; the idempotency plugin cannot hash it (JSON.stringify overflows).
      expect: dead(/^permanent failure: the payload cannot be hashed for the idempotency check/),
    },
    {
      name: '__proto__ keys (payload, meta, envelope)',
      body: envelopeWith('{"text":"proto","__proto__":{"polluted":"payload"}}', {
        meta: JSON.parse('{"__proto__":{"polluted":"meta"},"a":"b"}'),
      }).replace(/^\{/, '{"__proto__":{"polluted":"envelope"},'),
      expect: ack,
    },
    {
      name: 'constructor.prototype keys',
      body: envelopeWith('{"text":"ctor","constructor":{"prototype":{"polluted":"ctor"}}}'),
      expect: ack,
    },
    {
      name: 'a lone surrogate in the payload (escaped)',
      body: envelopeWith('{"text":"\\ud800 alone"}'),
      expect: ack,
    },
    {
      name: 'a lone surrogate in a malformed body (raw)',
      body: 'not JSON \ud800 and more',
      expect: dead(/^malformed: the body is not JSON$/),
      sqsRefuses:
        'SQS refuses a body with a lone surrogate (InvalidMessageContents): no consumer ever sees it',
    },
    {
      name: 'a 1 MiB body that is not JSON',
      body: 'x'.repeat(MiB),
      expect: dead(/^malformed: the body is not JSON$/),
      noRoomForReason: 'SQS counts body and attributes against 1 MiB: a 1 MiB body leaves no room',
    },
    {
      name: 'a 1 MiB envelope',
      body: (() => {
        const shell = envelopeWith('{"text":""}');
        return envelopeWith(JSON.stringify({ text: 'y'.repeat(MiB - shell.length) }));
      })(),
      expect: ack,
    },
    {
      name: 'huge message attributes (9 × 100 KiB)',
      body: good('with huge attributes'),
      attributes: Object.fromEntries(
        Array.from({ length: 9 }, (_, i) => [`x-pad-${i}`, 'z'.repeat(100 * 1024)] as const),
      ),
      expect: ack,
    },
    {
      name: 'a huge glasswork.job attribute naming another job',
      body: good('attribute lies'),
      attributes: { [JOB_NAME_ATTRIBUTE]: `other-${'q'.repeat(200 * 1024)}` },
      expect: ack,
    },
  ];
}

/** Ordinary messages sent beside the hostile ones; every one must complete. */
export function goodMessages(count: number, tag: string): { text: string; body: string }[] {
  return Array.from({ length: count }, (_, i) => {
    const text = `${tag}-good-${i}`;
    return { text, body: good(text) };
  });
}
