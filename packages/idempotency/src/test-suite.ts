import { randomUUID } from 'node:crypto';
import type { IdempotencyStore } from './types.ts';

/** The matchers the suite uses: vitest's, jest's and most others' `expect` fit. */
export interface SuiteMatchers {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
  toMatchObject(expected: object): void;
  toBeUndefined(): void;
  toBeGreaterThan(expected: number): void;
}

/** The test runner's functions, passed in so that the suite depends on no runner. */
export interface SuiteRunner {
  it(name: string, fn: () => Promise<void>): void;
  expect(actual: unknown): SuiteMatchers;
}

/** Options of `storeTestSuite`. */
export interface StoreTestSuiteOptions {
  /** Prefix of every test name. @default 'idempotency store' */
  readonly name?: string;
  /** Claims raced against each other in the concurrency test. @default 8 */
  readonly concurrency?: number;
}

const T0 = Date.parse('2030-01-01T00:00:00Z');
const MINUTE = 60_000;

/**
 * The conformance suite of the idempotency store contract. Call it at the top level of a test file with
 * your runner's `it` and `expect` and a factory; every test uses its own random keys, so one store (one
 * table) serves them all. Times are passed explicitly, so the suite needs no clock control.
 *
 * ```ts
 * storeTestSuite({ it, expect }, () => myStore);
 * ```
 */
export function storeTestSuite(
  { it, expect }: SuiteRunner,
  factory: () => IdempotencyStore | Promise<IdempotencyStore>,
  options: StoreTestSuiteOptions = {},
): void {
  const title = (what: string) => `${options.name ?? 'idempotency store'}: ${what}`;
  const key = (label = 'key') => `suite:${label}:${randomUUID()}`;
  const lock = { now: T0, lockExpiresAt: T0 + MINUTE };
  const acquire = async (store: IdempotencyStore, k: string, hash?: string) => {
    const claim = await store.claim(k, { ...lock, hash });
    expect(claim.status).toBe('acquired');
    return { key: k, token: (claim as { token: string }).token };
  };

  it(title('acquires a free key with a non-empty token'), async () => {
    const store = await factory();
    const claim = await store.claim(key(), lock);
    expect(claim.status).toBe('acquired');
    const token = (claim as { token: unknown }).token;
    expect(typeof token).toBe('string');
    expect((token as string).length).toBeGreaterThan(0);
  });

  it(title('reports a live lock with its expiry and hash, and does not take it'), async () => {
    const store = await factory();
    const k = key();
    const lease = await acquire(store, k, 'hash-1');
    const second = await store.claim(k, { now: T0 + 1000, lockExpiresAt: T0 + 2 * MINUTE });
    expect(second).toEqual({
      status: 'in_progress',
      record: { key: k, status: 'in_progress', hash: 'hash-1', result: undefined, expiresAt: T0 + MINUTE },
    });
    expect(await store.complete(lease, { now: T0 + 2000, expiresAt: T0 + 10 * MINUTE })).toBe(true);
  });

  it(title('completes with the token, then answers claims and get with the record'), async () => {
    const store = await factory();
    const k = key();
    const lease = await acquire(store, k, 'h');
    const result = { id: 'ch_1', amounts: [1, 2.5], ok: true, note: null, nested: { 'ü-ñ': '✓' } };
    expect(await store.complete(lease, { now: T0 + 1000, expiresAt: T0 + 60 * MINUTE, result })).toBe(true);
    const record = { key: k, status: 'completed', hash: 'h', result, expiresAt: T0 + 60 * MINUTE };
    expect(await store.claim(k, { now: T0 + 2 * MINUTE, lockExpiresAt: T0 + 3 * MINUTE })).toEqual({
      status: 'completed',
      record,
    });
    expect(await store.get(k, { now: T0 + 2 * MINUTE })).toEqual(record);
  });

  it(title('stores scalar results and null, and no result as undefined'), async () => {
    const store = await factory();
    for (const result of ['text', 0, 42.5, false, null, [], undefined]) {
      const k = key('scalar');
      const lease = await acquire(store, k);
      expect(await store.complete(lease, { now: T0, expiresAt: T0 + MINUTE, result })).toBe(true);
      expect((await store.get(k, { now: T0 }))?.result).toEqual(result);
    }
  });

  it(title('completing again with the same token succeeds; no result keeps the earlier one'), async () => {
    const store = await factory();
    const k = key();
    const lease = await acquire(store, k);
    expect(await store.complete(lease, { now: T0, expiresAt: T0 + MINUTE, result: { first: 1 } })).toBe(true);
    expect(await store.complete(lease, { now: T0 + 1, expiresAt: T0 + 2 * MINUTE })).toBe(true);
    expect(await store.get(k, { now: T0 + 2 })).toMatchObject({
      status: 'completed',
      result: { first: 1 },
      expiresAt: T0 + 2 * MINUTE,
    });
    expect(await store.complete(lease, { now: T0 + 2, expiresAt: T0 + 2 * MINUTE, result: 'second' })).toBe(
      true,
    );
    expect((await store.get(k, { now: T0 + 3 }))?.result).toBe('second');
  });

  it(
    title('takes over an expired lock with a new token; the old token can neither complete nor release'),
    async () => {
      const store = await factory();
      const k = key();
      const first = await acquire(store, k, 'h');
      const later = { now: T0 + MINUTE, lockExpiresAt: T0 + 2 * MINUTE };
      const claim = await store.claim(k, later);
      expect(claim.status).toBe('acquired');
      const second = { key: k, token: (claim as { token: string }).token };
      expect(second.token === first.token).toBe(false);
      expect(
        await store.complete(first, { now: later.now, expiresAt: T0 + 9 * MINUTE, result: 'stale' }),
      ).toBe(false);
      expect(await store.release(first)).toBe(false);
      expect(await store.get(k, { now: later.now })).toMatchObject({
        status: 'in_progress',
        hash: undefined,
      });
      expect(
        await store.complete(second, { now: later.now, expiresAt: T0 + 9 * MINUTE, result: 'fresh' }),
      ).toBe(true);
      expect((await store.get(k, { now: later.now }))?.result).toBe('fresh');
    },
  );

  it(title('the lock ends exactly at lockExpiresAt'), async () => {
    const store = await factory();
    const k = key();
    await acquire(store, k);
    const justBefore = { now: T0 + MINUTE - 1, lockExpiresAt: T0 + 2 * MINUTE };
    expect((await store.claim(k, justBefore)).status).toBe('in_progress');
    expect(await store.get(k, { now: T0 + MINUTE - 1 })).toMatchObject({ status: 'in_progress' });
    expect(await store.get(k, { now: T0 + MINUTE })).toBeUndefined();
    expect((await store.claim(k, { now: T0 + MINUTE, lockExpiresAt: T0 + 2 * MINUTE })).status).toBe(
      'acquired',
    );
  });

  it(title('release frees the key; a stale or repeated release returns false'), async () => {
    const store = await factory();
    const k = key();
    const lease = await acquire(store, k);
    expect(await store.release(lease)).toBe(true);
    expect(await store.get(k, { now: T0 })).toBeUndefined();
    expect(await store.release(lease)).toBe(false);
    expect(await store.complete(lease, { now: T0, expiresAt: T0 + MINUTE })).toBe(false);
    expect((await store.claim(k, lock)).status).toBe('acquired');
  });

  it(title('release never removes a completed record'), async () => {
    const store = await factory();
    const k = key();
    const lease = await acquire(store, k);
    expect(await store.complete(lease, { now: T0, expiresAt: T0 + MINUTE, result: 1 })).toBe(true);
    expect(await store.release(lease)).toBe(false);
    expect(await store.get(k, { now: T0 })).toMatchObject({ status: 'completed', result: 1 });
  });

  it(title('an expired completed record is absent and can be claimed again'), async () => {
    const store = await factory();
    const k = key();
    const lease = await acquire(store, k);
    expect(await store.complete(lease, { now: T0, expiresAt: T0 + 5 * MINUTE, result: 'old' })).toBe(true);
    expect(await store.get(k, { now: T0 + 5 * MINUTE })).toBeUndefined();
    const claim = await store.claim(k, { now: T0 + 5 * MINUTE, lockExpiresAt: T0 + 6 * MINUTE, hash: 'new' });
    expect(claim.status).toBe('acquired');
    expect(await store.get(k, { now: T0 + 5 * MINUTE })).toEqual({
      key: k,
      status: 'in_progress',
      hash: 'new',
      result: undefined,
      expiresAt: T0 + 6 * MINUTE,
    });
  });

  it(title('unknown keys: get is undefined, complete and release return false'), async () => {
    const store = await factory();
    const k = key('unknown');
    expect(await store.get(k, { now: T0 })).toBeUndefined();
    expect(await store.complete({ key: k, token: 'nope' }, { now: T0, expiresAt: T0 + MINUTE })).toBe(false);
    expect(await store.release({ key: k, token: 'nope' })).toBe(false);
    expect(await store.get(k, { now: T0 })).toBeUndefined();
  });

  it(title('exactly one of concurrent claims of a free key acquires it'), async () => {
    const store = await factory();
    const k = key('race');
    const n = options.concurrency ?? 8;
    const claims = await Promise.all(Array.from({ length: n }, () => store.claim(k, lock)));
    expect(claims.filter((c) => c.status === 'acquired').length).toBe(1);
    expect(claims.filter((c) => c.status === 'in_progress').length).toBe(n - 1);
  });

  it(title('exactly one of concurrent claims takes over an expired lock'), async () => {
    const store = await factory();
    const k = key('race-expired');
    await acquire(store, k);
    const n = options.concurrency ?? 8;
    const later = { now: T0 + MINUTE, lockExpiresAt: T0 + 2 * MINUTE };
    const claims = await Promise.all(Array.from({ length: n }, () => store.claim(k, later)));
    expect(claims.filter((c) => c.status === 'acquired').length).toBe(1);
  });

  it(title('keys are exact: separators, unicode and long keys do not collide'), async () => {
    const store = await factory();
    const base = key('exact');
    const keys = [
      base,
      `${base}:step`,
      `${base}:Step`,
      `${base} `,
      `${base}:ß→漢字`,
      `${base}:${'x'.repeat(900)}`,
    ];
    for (const k of keys) await acquire(store, k);
    for (const k of keys) expect((await store.get(k, { now: T0 }))?.key).toBe(k);
  });

  it(title('records do not share objects with callers'), async () => {
    const store = await factory();
    const k = key();
    const lease = await acquire(store, k);
    const result = { list: [1] };
    await store.complete(lease, { now: T0, expiresAt: T0 + MINUTE, result });
    result.list.push(2);
    const read = (await store.get(k, { now: T0 }))?.result as { list: number[] } | undefined;
    read?.list.push(3);
    expect((await store.get(k, { now: T0 }))?.result).toEqual({ list: [1] });
  });
}
