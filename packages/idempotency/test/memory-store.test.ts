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
