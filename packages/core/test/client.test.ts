import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import type { StandardSchemaV1 } from '../src/index.ts';
import {
  ConfigurationError,
  createClient,
  DelayTooLongError,
  decodeEnvelope,
  defineJob,
  definePlugin,
  EnqueueError,
  InvalidJobPayloadError,
  JOB_NAME_ATTRIBUTE,
  PayloadTooLargeError,
} from '../src/index.ts';
import { memoryDriver } from './memory-driver.ts';

const sendEmail = defineJob({
  name: 'send-email',
  queue: 'emails',
  schema: v.object({ userId: v.string() }),
});
const remind = defineJob({ name: 'remind', queue: 'emails', schema: v.object({ at: v.date() }) });
const ordered = defineJob({
  name: 'ledger-entry',
  queue: 'ledger.fifo',
  schema: v.object({ account: v.string(), seq: v.number() }),
  group: (p) => p.account,
});

function envelopeOf(body: string) {
  const decoded = decodeEnvelope(body);
  if (!decoded.ok) throw new Error(decoded.problem.reason);
  return decoded.envelope;
}

describe('enqueue', () => {
  it('sends a v1 envelope with the validated input and the job name attribute', async () => {
    const driver = memoryDriver();
    const client = createClient({ driver });
    const result = await client.enqueue(
      sendEmail,
      { userId: 'u1' },
      { id: 'welcome-u1', meta: { tenant: 't1' } },
    );
    expect(result).toEqual({ id: 'welcome-u1', job: 'send-email', queue: 'emails', messageId: 'm-1' });
    const message = driver.calls[0]!.messages[0]!;
    expect(message.attributes).toEqual({ [JOB_NAME_ATTRIBUTE]: 'send-email' });
    const envelope = envelopeOf(message.body);
    expect(envelope).toMatchObject({
      v: 1,
      id: 'welcome-u1',
      name: 'send-email',
      payload: { userId: 'u1' },
      priorAttempts: 0,
      meta: { tenant: 't1' },
    });
    expect(envelope.firstEnqueuedAt).toBe(envelope.enqueuedAt);
    expect(message.bytes).toBe(
      Buffer.byteLength(message.body) + JOB_NAME_ATTRIBUTE.length + 6 + 'send-email'.length,
    );
  });

  it('rejects a payload that fails the schema before sending, naming the job and the path', async () => {
    const driver = memoryDriver();
    const client = createClient({ driver });
    // @ts-expect-error userId must be a string
    const error = await client.enqueue(sendEmail, { userId: 42 }).catch((e) => e);
    expect(error).toBeInstanceOf(InvalidJobPayloadError);
    expect(error.message).toMatch(/^Invalid payload for job "send-email": userId: /);
    expect(driver.calls).toHaveLength(0);
  });

  it('catches at enqueue a Date that the worker would reject after the JSON round trip', async () => {
    const driver = memoryDriver();
    const client = createClient({ driver });
    const error = await client.enqueue(remind, { at: new Date() }).catch((e) => e);
    expect(error).toBeInstanceOf(InvalidJobPayloadError);
    expect(driver.calls).toHaveLength(0);
  });

  it.each([
    ['a BigInt', { n: 10n }],
    [
      'a cycle',
      (() => {
        const o: Record<string, unknown> = {};
        o.self = o;
        return o;
      })(),
    ],
    ['a function', () => 1],
  ])('rejects %s with a typed error before sending', async (_label, payload) => {
    const driver = memoryDriver();
    const client = createClient({ driver });
    const job = defineJob<unknown>({ name: 'anything', queue: 'q' });
    await expect(client.enqueue(job, payload)).rejects.toBeInstanceOf(InvalidJobPayloadError);
    expect(driver.calls).toHaveLength(0);
  });

  it('checks the encoded size against the queue limit, else the option, else 256 KiB', async () => {
    const big = defineJob<{ blob: string }>({ name: 'big', queue: 'q' });
    const payload = { blob: 'é'.repeat(140_000) }; // 280,000 UTF-8 bytes
    const error = await createClient({ driver: memoryDriver() })
      .enqueue(big, payload)
      .catch((e) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error).toMatchObject({ job: 'big', limit: 262_144 });
    expect(error.bytes).toBeGreaterThan(280_000);

    // The queue says 1 MiB (SQS since 2025): accepted.
    const roomy = memoryDriver({ maxMessageBytes: 1_048_576 });
    await expect(createClient({ driver: roomy }).enqueue(big, payload)).resolves.toMatchObject({
      job: 'big',
    });

    // An explicit option wins.
    const strict = createClient({
      driver: memoryDriver({ maxMessageBytes: 1_048_576 }),
      maxMessageBytes: 1000,
    });
    await expect(strict.enqueue(big, { blob: 'x'.repeat(2000) })).rejects.toBeInstanceOf(
      PayloadTooLargeError,
    );
  });

  it('refuses a delay longer than the driver holds, pointing at the scheduler', async () => {
    const client = createClient({ driver: memoryDriver() });
    const error = await client.enqueueIn(sendEmail, '16m', { userId: 'u' }).catch((e) => e);
    expect(error).toBeInstanceOf(DelayTooLongError);
    expect(error.message).toMatch(/@glasswork\/scheduler/);
    await expect(client.enqueueIn(sendEmail, '15m', { userId: 'u' })).resolves.toBeTruthy();
  });

  it('stamps a delayed message with the time it is due', async () => {
    const driver = memoryDriver();
    const client = createClient({ driver });
    const before = Date.now();
    await client.enqueueIn(sendEmail, '90s', { userId: 'u' });
    await client.enqueue(sendEmail, { userId: 'u' });
    const [delayed, now] = driver.calls.map((c) => envelopeOf(c.messages[0]!.body));
    expect(Date.parse(delayed!.notBefore!) - Date.parse(delayed!.enqueuedAt)).toBe(90_000);
    expect(Date.parse(delayed!.enqueuedAt)).toBeGreaterThanOrEqual(before);
    expect(now!.notBefore).toBeUndefined();
    // enqueueAt keeps the exact time, where delaySeconds is rounded up to whole seconds.
    const at = Date.now() + 61_500;
    await client.enqueueAt(sendEmail, at, { userId: 'u' });
    const message = driver.calls[2]!.messages[0]!;
    expect([message.notBefore, message.delaySeconds]).toEqual([at, 62]);
  });

  it('fires flush on its plugins', async () => {
    let flushed = 0;
    const exporter = definePlugin({
      name: 'exporter',
      setup: (hooks) => hooks.on('flush', () => void flushed++),
    });
    await createClient({ driver: memoryDriver(), plugins: [exporter] }).flush();
    expect(flushed).toBe(1);
  });

  it('turns delay and at into whole seconds', async () => {
    const driver = memoryDriver();
    const client = createClient({ driver });
    await client.enqueueIn(sendEmail, 1500, { userId: 'u' });
    await client.enqueueAt(sendEmail, new Date(Date.now() + 60_000), { userId: 'u' });
    await client.enqueue(sendEmail, { userId: 'u' }, { at: Date.now() - 5000 });
    expect(driver.calls.map((c) => c.messages[0]!.delaySeconds)).toEqual([2, 60, 0]);
  });

  it('requires a group on FIFO queues and refuses per-message delays there', async () => {
    const driver = memoryDriver();
    const client = createClient({ driver });
    const ungrouped = defineJob<{ a: number }>({ name: 'ungrouped', queue: 'orders.fifo' });
    await expect(client.enqueue(ungrouped, { a: 1 })).rejects.toThrow(/has no message group/);
    await expect(client.enqueue(ungrouped, { a: 1 }, { group: 'g' })).resolves.toBeTruthy();
    await expect(client.enqueueIn(ordered, '10s', { account: 'a', seq: 1 })).rejects.toThrow(
      /does not support per-message delays/,
    );
    const message = driver.calls[0]!.messages[0]!;
    expect(message.groupId).toBe('g');
    expect(message.dedupeId).toBe(message.id);
  });

  it('derives the FIFO group and dedup id from the payload', async () => {
    const driver = memoryDriver();
    const job = defineJob<{ order: string }>({
      name: 'charge',
      queue: 'payments.fifo',
      group: (p) => `order-${p.order}`,
      dedupe: (p) => `charge-${p.order}`,
    });
    await createClient({ driver }).enqueue(job, { order: '7' });
    expect(driver.calls[0]!.messages[0]).toMatchObject({ groupId: 'order-7', dedupeId: 'charge-7' });
  });

  it('says where to set a queue when there is none', async () => {
    const job = defineJob({ name: 'nowhere' });
    const error = await createClient({ driver: memoryDriver() })
      .enqueue(job, {})
      .catch((e) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toMatch(/defaultQueue/);
    await expect(
      createClient({ driver: memoryDriver(), defaultQueue: 'default' }).enqueue(job, {}),
    ).resolves.toMatchObject({
      queue: 'default',
    });
  });

  it('rejects job ids SQS cannot carry', async () => {
    const client = createClient({ driver: memoryDriver() });
    await expect(client.enqueue(sendEmail, { userId: 'u' }, { id: 'has space' })).rejects.toThrow(
      /Invalid job id/,
    );
    await expect(client.enqueue(sendEmail, { userId: 'u' }, { id: 'x'.repeat(129) })).rejects.toThrow(
      /Invalid job id/,
    );
  });

  it('throws the driver failure as an EnqueueError with the cause', async () => {
    const cause = new Error('AccessDenied');
    const client = createClient({ driver: memoryDriver({ fail: () => cause }) });
    const error = await client.enqueue(sendEmail, { userId: 'u' }).catch((e) => e);
    expect(error).toBeInstanceOf(EnqueueError);
    expect(error.cause).toBe(cause);
  });

  it('sends jobs without a payload', async () => {
    const driver = memoryDriver();
    const tick = defineJob<void>({ name: 'tick', queue: 'q' });
    await createClient({ driver }).enqueue(tick);
    expect(envelopeOf(driver.calls[0]!.messages[0]!.body).payload).toBeUndefined();
  });

  it('keeps priorAttempts and firstEnqueuedAt of a replayed job', async () => {
    const driver = memoryDriver();
    await createClient({ driver }).enqueue(
      sendEmail,
      { userId: 'u' },
      { priorAttempts: 3, firstEnqueuedAt: '2026-01-01T00:00:00.000Z' },
    );
    expect(envelopeOf(driver.calls[0]!.messages[0]!.body)).toMatchObject({
      priorAttempts: 3,
      firstEnqueuedAt: '2026-01-01T00:00:00.000Z',
    });
  });

  it('escapes characters SQS rejects', async () => {
    const driver = memoryDriver();
    const job = defineJob<{ s: string }>({ name: 'text', queue: 'q' });
    await createClient({ driver }).enqueue(job, { s: 'a\uFFFEb\uFFFF' });
    const body = driver.calls[0]!.messages[0]!.body;
    expect(body).not.toMatch(/[\uFFFE\uFFFF]/);
    expect(envelopeOf(body).payload).toEqual({ s: 'a\uFFFEb\uFFFF' });
  });
});

describe('enqueueMany', () => {
  it('sends 1,000 jobs in 100 driver calls of 10', async () => {
    const driver = memoryDriver();
    const client = createClient({ driver });
    const results = await client.enqueueMany(
      Array.from({ length: 1000 }, (_, i) => ({ job: sendEmail, payload: { userId: `u${i}` } })),
    );
    expect(driver.calls).toHaveLength(100);
    expect(driver.calls.every((c) => c.messages.length === 10)).toBe(true);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(new Set(results.map((r) => r.id)).size).toBe(1000);
  });

  it('splits batches at the driver byte limit', async () => {
    const driver = memoryDriver({ capabilities: { maxBatchBytes: 3000 } });
    const job = defineJob<{ s: string }>({ name: 'blob', queue: 'q' });
    await createClient({ driver }).enqueueMany(
      Array.from({ length: 6 }, () => ({ job, payload: { s: 'x'.repeat(1000) } })),
    );
    expect(driver.calls.map((c) => c.messages.length)).toEqual([2, 2, 2]);
  });

  it('mixes job types and queues, with one result per entry in order', async () => {
    const driver = memoryDriver({
      fail: (m) => (m.jobName === 'ledger-entry' ? new Error('throttled') : undefined),
    });
    const results = await createClient({ driver }).enqueueMany([
      { job: sendEmail, payload: { userId: 'a' } },
      { job: ordered, payload: { account: 'acc', seq: 1 } },
      { job: sendEmail, payload: { userId: 42 } as never },
      { job: sendEmail, payload: { userId: 'b' } },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, false, true]);
    expect(results.map((r) => r.job)).toEqual(['send-email', 'ledger-entry', 'send-email', 'send-email']);
    expect(results[2]!.ok || results[2]!.error).toBeInstanceOf(InvalidJobPayloadError);
    expect(results[1]!.ok || results[1]!.error).toBeInstanceOf(EnqueueError);
  });

  it('on FIFO queues, does not send later entries of a group after one failed', async () => {
    const driver = memoryDriver({
      capabilities: { maxBatchSize: 2 },
      fail: (m) => (m.body.includes('"seq":2') && m.groupId === 'a' ? new Error('InternalError') : undefined),
    });
    const entries = [
      { account: 'a', seq: 1 },
      { account: 'b', seq: 1 },
      { account: 'a', seq: 2 }, // fails
      { account: 'b', seq: 2 },
      { account: 'a', seq: 3 }, // not sent
      { account: 'b', seq: 3 },
    ].map((payload) => ({ job: ordered, payload }));
    const results = await createClient({ driver }).enqueueMany(entries);
    expect(results.map((r) => r.ok)).toEqual([true, true, false, true, false, true]);
    expect(results[4]!.ok || results[4]!.error.message).toMatch(/earlier message of FIFO group "a" failed/);
    const sentSeqA = driver.sent
      .filter((s) => s.message.groupId === 'a')
      .map((s) => envelopeOf(s.body).payload);
    expect(sentSeqA).toEqual([{ account: 'a', seq: 1 }]);
  });

  it('on FIFO queues, sends the entries of a group before the one that failed validation', async () => {
    const driver = memoryDriver();
    const results = await createClient({ driver }).enqueueMany([
      { job: ordered, payload: { account: 'a', seq: 1 } },
      { job: ordered, payload: { account: 'a', seq: 'two' } as never },
      { job: ordered, payload: { account: 'a', seq: 3 } },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, false]);
  });

  it('on FIFO queues, an entry that fails validation also holds back the rest of its group', async () => {
    const driver = memoryDriver();
    const results = await createClient({ driver }).enqueueMany([
      { job: ordered, payload: { account: 'a', seq: 'one' } as never },
      { job: ordered, payload: { account: 'a', seq: 2 } },
      { job: ordered, payload: { account: 'b', seq: 1 } },
    ]);
    expect(results.map((r) => r.ok)).toEqual([false, false, true]);
  });

  it('fires enqueued only for messages the driver accepted', async () => {
    const seen: string[] = [];
    const observer = definePlugin({
      name: 'observer',
      setup(hooks) {
        hooks.on('enqueued', (e) => void seen.push(e.message.id));
      },
    });
    const driver = memoryDriver({ fail: (m) => (m.id === 'bad' ? new Error('no') : undefined) });
    await createClient({ driver, plugins: [observer] }).enqueueMany([
      { job: sendEmail, payload: { userId: 'a' }, options: { id: 'good' } },
      { job: sendEmail, payload: { userId: 'b' }, options: { id: 'bad' } },
    ]);
    expect(seen).toEqual(['good']);
  });

  it('lets a send hook see and replace the driver call (an outbox)', async () => {
    const driver = memoryDriver();
    const stored: string[] = [];
    const outbox = definePlugin({
      name: 'outbox',
      setup(hooks) {
        hooks.send(async (ctx) => {
          stored.push(...ctx.messages.map((m) => m.id));
          return ctx.messages.map(() => ({ ok: true as const, messageId: undefined }));
        });
      },
    });
    const result = await createClient({ driver, plugins: [outbox] }).enqueue(
      sendEmail,
      { userId: 'u' },
      { id: 'o1' },
    );
    expect(result.messageId).toBeUndefined();
    expect(stored).toEqual(['o1']);
    expect(driver.calls).toHaveLength(0);
  });
});

describe('Standard Schema interop', () => {
  it('accepts a hand-written Standard Schema object, with its output type and transforms', async () => {
    const trimmed: StandardSchemaV1<{ name: string }, { name: string; length: number }> = {
      '~standard': {
        version: 1,
        vendor: 'hand-written',
        validate(value) {
          const name = (value as { name?: unknown } | null)?.name;
          if (typeof name !== 'string')
            return { issues: [{ message: 'name must be a string', path: ['name'] }] };
          return { value: { name: name.trim(), length: name.trim().length } };
        },
      },
    };
    const greet = defineJob({ name: 'greet', queue: 'q', schema: trimmed });
    const driver = memoryDriver();
    const client = createClient({ driver });
    await expect(client.enqueue(greet, { name: ' Ada ' })).resolves.toBeTruthy();
    const error = await client.enqueue(greet, { name: 1 } as never).catch((e) => e);
    expect(error).toBeInstanceOf(InvalidJobPayloadError);
    expect(error.issues).toEqual([{ message: 'name must be a string', path: ['name'] }]);
    // The producer sends the input; the worker's handler gets the output.
    expect(envelopeOf(driver.calls[0]!.messages[0]!.body).payload).toEqual({ name: ' Ada ' });
  });

  it('rejects a schema that is not a Standard Schema', () => {
    expect(() => defineJob({ name: 'x', schema: { parse() {} } as never })).toThrow(/Standard Schema/);
  });
});
