import { memoryStore, storeTestSuite } from '@glasswork/idempotency';
import { expect, it } from 'vitest';

storeTestSuite({ it, expect }, () => memoryStore(), { name: 'memory store' });

it('sweeps expired records as claims go by', async () => {
  const store = memoryStore({ sweepEvery: 3 });
  await store.claim('a', { now: 0, lockExpiresAt: 10 });
  await store.claim('b', { now: 0, lockExpiresAt: 1000 });
  expect(store.size).toBe(2);
  await store.claim('c', { now: 500, lockExpiresAt: 1000 });
  expect(store.size).toBe(2);
  expect(await store.get('b', { now: 500 })).toMatchObject({ status: 'in_progress' });
  store.clear();
  expect(store.size).toBe(0);
});

it('sweeps in bounded slices: every expired record goes eventually, however large the store', async () => {
  const store = memoryStore({ sweepEvery: 10 });
  for (let i = 0; i < 1000; i++) await store.claim(`old-${i}`, { now: 0, lockExpiresAt: 5 });
  expect(store.size).toBe(1000);
  // Each sweep checks at most 20 records, so it takes some claims to reach them all.
  for (let i = 0; i < 1500; i++) await store.claim(`new-${i}`, { now: 10, lockExpiresAt: 1_000_000 });
  expect(store.size).toBe(1500);
});
