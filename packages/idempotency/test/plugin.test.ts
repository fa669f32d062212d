import type { AnyJob, Delivery, ExecuteResult } from '@glasswork/core';
import {
  ConfigurationError,
  createWorker,
  defineJob,
  definePlugin,
  encodeEnvelope,
  PermanentJobError,
} from '@glasswork/core';
import type { IdempotencyErrorInfo, IdempotencyOptions, IdempotencyStore } from '@glasswork/idempotency';
import {
  hashPayload,
  IdempotencyKeyMismatchError,
  IdempotencyStoreError,
  InvalidIdempotencyKeyError,
  idempotencyPlugin,
  jobKey,
  memoryStore,
  once,
} from '@glasswork/idempotency';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';

const NOW = Date.parse('2030-01-01T00:00:00Z');
let sequence = 0;

function deliveryOf(job: AnyJob, payload: unknown, overrides: Partial<Delivery> & { id?: string } = {}) {
  const { id = `job-${++sequence}`, ...rest } = overrides;
  const at = new Date(NOW).toISOString();
  return {
    messageId: `msg-${++sequence}`,
    body: encodeEnvelope({
      id,
      name: job.name,
      payloadJson: JSON.stringify(payload),
      enqueuedAt: at,
      firstEnqueuedAt: at,
      priorAttempts: 0,
      meta: {},
    }),
    receiveCount: 1,
    queue: 'jobs',
    receivedAt: NOW,
    ...rest,
  } satisfies Delivery;
}

const order = defineJob({ name: 'order', schema: v.object({ orderId: v.string(), cents: v.number() }) });
const refund = defineJob({ name: 'refund', schema: v.object({ orderId: v.string() }) });

function setup(options: Partial<IdempotencyOptions> = {}) {
  const store = memoryStore();
  const reported: [unknown, IdempotencyErrorInfo][] = [];
  let clock = NOW;
  const plugin = idempotencyPlugin({
    store,
    now: () => clock,
    onError: (error, info) => void reported.push([error, info]),
    ...options,
  });
  const worker = createWorker({ plugins: [plugin], retry: 3 });
  const advance = (ms: number) => {
    clock += ms;
  };
  return { store, reported, worker, advance };
}

describe('idempotencyPlugin: claims and locks', () => {
  it('locks until the delivery deadline when there is one, else for lockTimeout', async () => {
    const { store, worker } = setup({ lockTimeout: '90s' });
    const seen: unknown[] = [];
    worker.handle(order, (_p, ctx) => void seen.push(ctx.idempotency.lease?.lockExpiresAt));
    const withDeadline = deliveryOf(order, { orderId: 'a', cents: 1 }, { id: 'j1', deadline: NOW + 42_000 });
    await worker.run(withDeadline);
    await worker.run(deliveryOf(order, { orderId: 'a', cents: 1 }, { id: 'j2' }));
    expect(seen).toEqual([NOW + 42_000, NOW + 90_000]);
    expect((await store.get('order:j1', { now: NOW }))?.status).toBe('completed');
  });

  it('ends the lock at the job timeout plus a margin, or lockTimeout, when the deadline is further away', async () => {
    // The poller's deadline with heartbeats is SQS's 12 hours; a killed poller's message comes back after
    // its visibility timeout and must not find the key locked for the rest of those hours.
    const twelveHours = NOW + 12 * 3_600_000;
    const seen: unknown[] = [];
    const timed = setup();
    timed.worker.handle(order, (_p, ctx) => void seen.push(ctx.idempotency.lease?.lockExpiresAt), {
      timeout: '5s',
    });
    await timed.worker.run(deliveryOf(order, { orderId: 'a', cents: 1 }, { deadline: twelveHours }));
    const explicit = setup({ lockTimeout: '90s' });
    explicit.worker.handle(order, (_p, ctx) => void seen.push(ctx.idempotency.lease?.lockExpiresAt));
    await explicit.worker.run(deliveryOf(order, { orderId: 'a', cents: 1 }, { deadline: twelveHours }));
    const untimed = setup();
    untimed.worker.handle(order, (_p, ctx) => void seen.push(ctx.idempotency.lease?.lockExpiresAt));
    await untimed.worker.run(deliveryOf(order, { orderId: 'a', cents: 1 }, { deadline: twelveHours }));
    expect(seen).toEqual([NOW + 35_000, NOW + 90_000, NOW + 300_000]);
  });

  it('dead-letters at once a payload nested too deeply to hash, instead of retrying it', async () => {
    // JSON.parse reads 100,000 levels; JSON.stringify (and so the hash) overflows the stack far sooner.
    const { worker } = setup();
    const loose = defineJob<{ deep: unknown }>({ name: 'loose' });
    let runs = 0;
    worker.handle(loose, () => void runs++);
    const delivery = deliveryOf(loose, {}, { id: 'deep' });
    const deep = delivery.body.replace(
      '"payload":{}',
      `"payload":{"deep":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
    );
    const { outcome } = await worker.run({ ...delivery, body: deep });
    expect(outcome).toMatchObject({
      type: 'dead',
      reason: expect.stringMatching(
        /^permanent failure: the payload cannot be hashed for the idempotency check/,
      ),
    });
    expect(runs).toBe(0);
  });

  it('defers while another delivery holds the lock, until the lock ends', async () => {
    const { store, worker, advance } = setup();
    let runs = 0;
    worker.handle(order, () => void runs++);
    await store.claim('order:j1', { now: NOW, lockExpiresAt: NOW + 30_000 });
    advance(10_000);
    const { outcome, ctx } = await worker.run(deliveryOf(order, { orderId: 'a', cents: 1 }, { id: 'j1' }));
    expect(outcome).toEqual({
      type: 'defer',
      delayMs: 20_000,
      reason: `idempotency key "order:j1" is locked by another delivery until ${new Date(NOW + 30_000).toISOString()}`,
    });
    expect(ctx.state.idempotency).toEqual({ key: 'order:j1', status: 'locked', lease: undefined });
    expect(runs).toBe(0);
  });

  it('turns a deferral on the last receive the redrive policy allows into dead, with the reason', async () => {
    const { store, worker } = setup();
    worker.handle(order, () => {});
    await store.claim('order:j1', { now: NOW, lockExpiresAt: NOW + 30_000 });
    const last = deliveryOf(
      order,
      { orderId: 'a', cents: 1 },
      { id: 'j1', receiveCount: 3, maxReceiveCount: 3 },
    );
    const { outcome } = await worker.run(last);
    expect(outcome).toMatchObject({
      type: 'dead',
      reason: expect.stringMatching(/^deferred \(idempotency key/),
    });
  });

  it('a deferral counts as an attempt: past maxAttempts, a job waits for the lock holder, then is dead-lettered', async () => {
    const { store, worker } = setup();
    let runs = 0;
    worker.handle(order, () => void runs++, { retry: 2 });
    const lease = await store.claim('order:j1', { now: NOW, lockExpiresAt: NOW + 30_000 });
    const third = deliveryOf(order, { orderId: 'a', cents: 1 }, { id: 'j1', receiveCount: 3 });
    // The holder may still complete it, so a late arrival defers rather than dead-lettering under it.
    expect((await worker.run(third)).outcome).toMatchObject({ type: 'defer' });
    if (lease.status === 'acquired') await store.release({ key: 'order:j1', token: lease.token });
    const fourth = deliveryOf(order, { orderId: 'a', cents: 1 }, { id: 'j1', receiveCount: 4 });
    expect((await worker.run(fourth)).outcome).toMatchObject({
      type: 'dead',
      reason: expect.stringMatching(/past maxAttempts 2; not run/),
    });
    expect(runs).toBe(0);
  });

  it('answers a completed record with duplicate and its stored result, without running', async () => {
    const { worker } = setup();
    let runs = 0;
    worker.handle(order, (p) => {
      runs++;
      return { charged: p.cents, at: new Date(NOW) };
    });
    const first = await worker.run(deliveryOf(order, { orderId: 'a', cents: 5 }, { id: 'j1' }));
    expect(first.outcome).toEqual({ type: 'ack', result: { charged: 5, at: new Date(NOW) } });
    const again = await worker.run(deliveryOf(order, { orderId: 'a', cents: 5 }, { id: 'j1' }));
    // What a duplicate gets is the JSON form of the first result.
    expect(again.outcome).toEqual({
      type: 'ack',
      duplicate: true,
      result: { charged: 5, at: new Date(NOW).toISOString() },
    });
    expect(again.ctx.state.idempotency).toMatchObject({ status: 'duplicate' });
    expect(runs).toBe(1);
  });

  it('keeps no result with storeResult: false', async () => {
    const { worker } = setup({ storeResult: false });
    worker.handle(order, () => 'secret');
    await worker.run(deliveryOf(order, { orderId: 'a', cents: 5 }, { id: 'j1' }));
    const again = await worker.run(deliveryOf(order, { orderId: 'a', cents: 5 }, { id: 'j1' }));
    expect(again.outcome).toEqual({ type: 'ack', duplicate: true, result: undefined });
  });

  it('releases the key when the handler throws, and when an inner plugin answers instead', async () => {
    const inner = definePlugin({
      name: 'inner',
      setup: (hooks) =>
        hooks.execute(async (ctx, next): Promise<ExecuteResult> => {
          if ((ctx.payload as { cents: number }).cents === 0) {
            return { type: 'defer', delayMs: 5000, reason: 'rate limited' };
          }
          return next();
        }),
    });
    const store = memoryStore();
    const worker = createWorker({ plugins: [idempotencyPlugin({ store, now: () => NOW }), inner] });
    worker.handle(order, () => {
      throw new PermanentJobError('card declined');
    });
    const failed = await worker.run(deliveryOf(order, { orderId: 'a', cents: 5 }, { id: 'j1' }));
    expect(failed.outcome).toMatchObject({ type: 'dead', reason: 'permanent failure: card declined' });
    expect(failed.ctx.state.idempotency).toMatchObject({ status: 'released' });
    expect(await store.get('order:j1', { now: NOW })).toBeUndefined();
    const limited = await worker.run(deliveryOf(order, { orderId: 'a', cents: 0 }, { id: 'j2' }));
    expect(limited.outcome).toMatchObject({ type: 'defer', reason: 'rate limited' });
    expect(await store.get('order:j2', { now: NOW })).toBeUndefined();
  });
});

describe('idempotencyPlugin: keys and payloads', () => {
  it('keys by job id by default, prefixed with the job name', async () => {
    const { store, worker } = setup();
    worker.handle(order, (_p, ctx) => ctx.idempotency.key);
    const { outcome } = await worker.run(deliveryOf(order, { orderId: 'a', cents: 5 }, { id: 'j-7' }));
    expect(outcome).toMatchObject({ result: 'order:j-7' });
    expect(await store.get('order:j-7', { now: NOW })).toMatchObject({ status: 'completed' });
  });

  it('takes per-job keys from the payload; jobs never share a key', async () => {
    const { worker } = setup({
      jobs: [jobKey(order, (p) => p.orderId), jobKey(refund, (p) => p.orderId)],
    });
    let runs = 0;
    worker.handle(order, () => void runs++).handle(refund, () => void runs++);
    await worker.run(deliveryOf(order, { orderId: 'o-1', cents: 5 }));
    const dup = await worker.run(deliveryOf(order, { orderId: 'o-1', cents: 5 }));
    const other = await worker.run(deliveryOf(refund, { orderId: 'o-1' }));
    expect([dup.outcome, other.outcome]).toMatchObject([{ duplicate: true }, { type: 'ack' }]);
    expect(other.outcome).not.toHaveProperty('duplicate');
    expect(runs).toBe(2);
  });

  it('escapes the separator, so no job, key and step can meet another’s record', async () => {
    const { store, worker } = setup({ key: (p) => (p as { orderId: string }).orderId });
    const charge = defineJob<{ orderId: string; step?: string }>({ name: 'charge' });
    const chargeA = defineJob<{ orderId: string; step?: string }>({ name: 'charge:a' });
    const keys: string[] = [];
    const steps: string[] = [];
    const handler = async ({ step }: { step?: string }, ctx: { idempotency: { key?: string } }) => {
      keys.push(ctx.idempotency.key as string);
      if (step) steps.push(await once(ctx as never, step, (key) => key));
    };
    worker.handle(charge, handler).handle(chargeA, handler);
    const run = (job: AnyJob, orderId: string, step?: string) =>
      worker.run(deliveryOf(job, step ? { orderId, step } : { orderId }));
    // Unescaped, all three would be stored under "charge:a:b" and the last two answered as duplicates.
    await run(charge, 'a', 'b');
    const first = await run(charge, 'a:b');
    const second = await run(chargeA, 'b');
    await run(charge, 'back\\slash');
    expect([first.outcome, second.outcome]).toMatchObject([{ type: 'ack' }, { type: 'ack' }]);
    expect(first.outcome).not.toHaveProperty('duplicate');
    expect(second.outcome).not.toHaveProperty('duplicate');
    expect(keys).toEqual(['charge:a', 'charge:a\\:b', 'charge\\:a:b', 'charge:back\\\\slash']);
    expect(steps).toEqual(['charge:a:b']);
    expect(store.size).toBe(5);
  });

  it('runs without idempotency when the key function returns false', async () => {
    const { store, worker } = setup({ key: (p) => ((p as { cents: number }).cents > 0 ? 'k' : false) });
    const seen: unknown[] = [];
    worker.handle(order, async (_p, ctx) => {
      seen.push(ctx.idempotency.key);
      await expect(once(ctx, 'step', () => 1)).rejects.toThrow(ConfigurationError);
    });
    await worker.run(deliveryOf(order, { orderId: 'a', cents: 0 }));
    await worker.run(deliveryOf(order, { orderId: 'a', cents: 0 }));
    expect(seen).toEqual([undefined, undefined]);
    expect(store.size).toBe(0);
  });

  it.each([
    ['', /is empty/],
    [42, /is number 42, not a string/],
    [undefined, /is undefined, not a string/],
    ['x'.repeat(1100), /is 1106 bytes long/],
  ])('dead-letters a key function result of %j as InvalidIdempotencyKeyError', async (key, message) => {
    const { worker } = setup({ key: () => key as string });
    worker.handle(order, () => {});
    const { outcome } = await worker.run(deliveryOf(order, { orderId: 'a', cents: 5 }));
    expect(outcome).toMatchObject({ type: 'dead', error: expect.any(InvalidIdempotencyKeyError) });
    expect((outcome as { error: Error }).error.message).toMatch(message);
  });

  it('dead-letters a different payload under the same key, while in progress or completed', async () => {
    const { store, worker } = setup({ jobs: [jobKey(order, (p) => p.orderId)] });
    worker.handle(order, () => {});
    await worker.run(deliveryOf(order, { orderId: 'o-1', cents: 5 }));
    const changed = await worker.run(deliveryOf(order, { orderId: 'o-1', cents: 6 }));
    expect(changed.outcome).toMatchObject({ type: 'dead', error: expect.any(IdempotencyKeyMismatchError) });
    expect((changed.outcome as { error: PermanentJobError }).error).toBeInstanceOf(PermanentJobError);
    await store.claim('order:o-2', { now: NOW, lockExpiresAt: NOW + 1000, hash: 'other' });
    const locked = await worker.run(deliveryOf(order, { orderId: 'o-2', cents: 6 }));
    expect(locked.outcome).toMatchObject({ type: 'dead', error: expect.any(IdempotencyKeyMismatchError) });
  });

  it('hashes the payload as sent, whatever its key order; hashPayload: false stores no hash', async () => {
    expect(hashPayload({ a: 1, b: [{ d: 2, c: 3 }] })).toBe(hashPayload({ b: [{ c: 3, d: 2 }], a: 1 }));
    expect(hashPayload({ a: 1 })).not.toBe(hashPayload({ a: 2 }));
    // Pinned: stores keep these hashes, so the canonical form must never change under them.
    expect(
      hashPayload({
        orderId: 'o-1',
        cents: 500,
        items: [
          { sku: 'b', qty: 2 },
          { qty: 1, sku: 'a' },
        ],
      }),
    ).toBe('267bddec4f8a4a9e3563ba408da60d3b6e959719daf90ae585c979c8ee7cd9be');
    expect(hashPayload({ a: undefined, b: [undefined, null] })).toBe(hashPayload({ b: [null, null] }));
    const { store, worker } = setup({ hashPayload: false, jobs: [jobKey(order, (p) => p.orderId)] });
    worker.handle(order, () => {});
    await worker.run(deliveryOf(order, { orderId: 'o-1', cents: 5 }));
    const changed = await worker.run(deliveryOf(order, { orderId: 'o-1', cents: 6 }));
    expect(changed.outcome).toMatchObject({ type: 'ack', duplicate: true });
    expect(await store.get('order:o-1', { now: NOW })).toMatchObject({ hash: undefined });
  });
});

describe('idempotencyPlugin: when the store fails', () => {
  function failing(overrides: Partial<IdempotencyStore>): IdempotencyStore {
    const store = memoryStore();
    return {
      name: 'flaky',
      claim: overrides.claim ?? store.claim,
      complete: overrides.complete ?? store.complete,
      release: overrides.release ?? store.release,
      get: overrides.get ?? store.get,
    };
  }

  it('retries the delivery without running the handler when the claim fails', async () => {
    const store = failing({ claim: () => Promise.reject(new Error('connection refused')) });
    const { worker } = setup({ store });
    let runs = 0;
    worker.handle(order, () => void runs++);
    const { outcome } = await worker.run(deliveryOf(order, { orderId: 'a', cents: 5 }, { id: 'j1' }));
    expect(outcome).toMatchObject({ type: 'retry', error: expect.any(IdempotencyStoreError) });
    expect((outcome as { error: Error }).error.message).toBe(
      'The flaky idempotency store failed to claim key "order:j1": connection refused; the delivery is retried',
    );
    expect(runs).toBe(0);
  });

  it('acknowledges and reports when completing fails after the handler succeeded', async () => {
    const store = failing({ complete: () => Promise.reject(new Error('throttled')) });
    const { worker, reported } = setup({ store });
    worker.handle(order, () => 'done');
    const { outcome, ctx } = await worker.run(deliveryOf(order, { orderId: 'a', cents: 5 }, { id: 'j1' }));
    expect(outcome).toEqual({ type: 'ack', result: 'done' });
    expect(ctx.state.idempotency).toMatchObject({ status: 'complete-failed', error: new Error('throttled') });
    expect(reported).toEqual([
      [new Error('throttled'), { key: 'order:j1', jobId: 'j1', jobName: 'order', operation: 'complete' }],
    ]);
  });

  it('keeps the handler error and reports when releasing fails', async () => {
    const store = failing({ release: () => Promise.reject(new Error('timeout')) });
    const { worker, reported } = setup({ store });
    worker.handle(order, () => {
      throw new Error('boom');
    });
    const { outcome } = await worker.run(deliveryOf(order, { orderId: 'a', cents: 5 }, { id: 'j1' }));
    expect(outcome).toMatchObject({ type: 'retry', error: new Error('boom') });
    expect(reported.map(([, info]) => info.operation)).toEqual(['release']);
  });

  it('completes without a result, and reports, when the result is not JSON', async () => {
    const { store, worker, reported } = setup();
    worker.handle(order, () => 10n);
    const { outcome } = await worker.run(deliveryOf(order, { orderId: 'a', cents: 5 }, { id: 'j1' }));
    expect(outcome).toEqual({ type: 'ack', result: 10n });
    expect(await store.get('order:j1', { now: NOW })).toMatchObject({
      status: 'completed',
      result: undefined,
    });
    expect(reported.map(([error]) => (error as Error).name)).toEqual(['TypeError']);
  });

  it('reports, and still acknowledges, when the completion is refused for a lost lock', async () => {
    const { store, worker, reported, advance } = setup({ lockTimeout: '10s' });
    worker.handle(order, async () => {
      advance(11_000);
      await store.claim('order:j1', { now: NOW + 11_000, lockExpiresAt: NOW + 60_000 });
      return 'late';
    });
    const { outcome, ctx } = await worker.run(deliveryOf(order, { orderId: 'a', cents: 5 }, { id: 'j1' }));
    expect(outcome).toEqual({ type: 'ack', result: 'late' });
    expect(ctx.state.idempotency).toMatchObject({ status: 'lock-lost' });
    expect(reported.map(([error]) => (error as Error).name)).toEqual(['IdempotencyLockLostError']);
  });

  it('lets once be destructured or given any context with the state, on the delivery’s own clock', async () => {
    const store = memoryStore();
    const worker = createWorker({ plugins: [idempotencyPlugin({ store })] });
    const virtual = Date.parse('2040-01-01T00:00:00Z');
    const seen: unknown[] = [];
    worker.handle(order, async (_p, ctx) => {
      const { once: step } = ctx.idempotency;
      seen.push(await step('a', (key) => key));
      seen.push(await once({ state: ctx.state }, 'b', (key) => key));
      seen.push(JSON.parse(JSON.stringify({ idempotency: ctx.idempotency })));
    });
    const { outcome } = await worker.run(
      deliveryOf(order, { orderId: 'a', cents: 5 }, { id: 'j9', now: () => virtual }),
    );
    expect(outcome.type).toBe('ack');
    expect(seen.slice(0, 2)).toEqual(['order:j9:a', 'order:j9:b']);
    expect(seen[2]).toMatchObject({ idempotency: { key: 'order:j9', lease: { key: 'order:j9' } } });
    // Both steps expire a day after the delivery's (virtual) time, not the wall clock's.
    for (const key of ['order:j9:a', 'order:j9:b']) {
      expect(await store.get(key, { now: virtual + 23 * 3_600_000 })).toMatchObject({ status: 'completed' });
    }
  });

  it('keeps ctx.state.idempotency plain data that a logger can serialise', async () => {
    const { worker } = setup();
    worker.handle(order, () => {});
    const { ctx } = await worker.run(deliveryOf(order, { orderId: 'a', cents: 5 }, { id: 'j1' }));
    const state = JSON.parse(JSON.stringify(ctx.state.idempotency));
    expect(state).toEqual({
      key: 'order:j1',
      status: 'completed',
      lease: {
        key: 'order:j1',
        token: expect.any(String),
        lockExpiresAt: NOW + 300_000,
        recordExpiresAt: NOW + 86_400_000,
      },
    });
  });
});

describe('idempotencyPlugin: configuration', () => {
  it('refuses a missing or incomplete store', () => {
    expect(() => idempotencyPlugin({} as IdempotencyOptions)).toThrow(ConfigurationError);
    const partial = { name: 'x', claim: async () => ({ status: 'acquired', token: 't' }) };
    expect(() => idempotencyPlugin({ store: partial as unknown as IdempotencyStore })).toThrow(
      /needs a store with claim, complete, release and get/,
    );
  });

  it('refuses two key rules for one job and a key that is not a function', () => {
    const store = memoryStore();
    expect(() =>
      idempotencyPlugin({ store, jobs: [jobKey(order, () => 'a'), jobKey(order, () => 'b')] }),
    ).toThrow(/job "order" has two key rules/);
    expect(() => idempotencyPlugin({ store, key: 'orderId' as never })).toThrow(ConfigurationError);
    expect(() => jobKey({ name: 'x' } as AnyJob, () => 'a')).toThrow(/defined with defineJob/);
  });

  it('types ctx.idempotency only on workers with the plugin', () => {
    createWorker({ plugins: [idempotencyPlugin({ store: memoryStore() })] }).handle(order, (_p, ctx) => {
      const key: string | undefined = ctx.idempotency.key;
      return key;
    });
    createWorker().handle(order, (_p, ctx) => {
      // @ts-expect-error no idempotency plugin, no ctx.idempotency
      return ctx.idempotency;
    });
  });

  it('once() outside a worker with the plugin is a ConfigurationError that says what to do', async () => {
    await expect(once({ state: {} }, 'charge', () => 1)).rejects.toThrow(
      /runs only inside a handler of a worker with idempotencyPlugin/,
    );
  });
});
