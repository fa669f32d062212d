import { describe, expect, it } from 'vitest';
import type { Delivery, Outcome, QueueDriver } from '../src/index.ts';
import {
  applyOutcome,
  createLimiter,
  createWorker,
  defineJob,
  PermanentJobError,
  processBatch,
  visibilitySeconds,
} from '../src/index.ts';
import { deliveryOf } from './helpers.ts';

const step = defineJob<{ group: string; seq: number; fail?: boolean }>({ name: 'step' });

describe('visibilitySeconds', () => {
  it('rounds up to whole seconds so a positive delay never becomes 0', () => {
    expect(visibilitySeconds(1)).toBe(1);
    expect(visibilitySeconds(1500)).toBe(2);
    expect(visibilitySeconds(0)).toBe(0);
  });

  it('clamps to 12 hours from the receive, less elapsed time and slack', () => {
    const receivedAt = 1_000_000;
    expect(visibilitySeconds(24 * 3_600_000, { receivedAt, now: receivedAt })).toBe(43_195);
    expect(visibilitySeconds(24 * 3_600_000, { receivedAt, now: receivedAt + 600_000 })).toBe(42_595);
    expect(visibilitySeconds(60_000, { receivedAt, now: receivedAt + 43_200_000 })).toBe(0);
  });
});

describe('processBatch', () => {
  function fifoDelivery(group: string, seq: number, fail = false): Delivery {
    return deliveryOf(step, { group, seq, fail }, { groupId: group });
  }

  it('runs FIFO groups in order and defers the rest of a group after a failure', async () => {
    const ran: string[] = [];
    const worker = createWorker({ retry: { backoff: '30s' } }).handle(step, async (p) => {
      ran.push(`${p.group}${p.seq}`);
      await new Promise((r) => setTimeout(r, p.group === 'a' ? 5 : 1));
      if (p.fail) throw new Error('boom');
    });
    const batch = [
      fifoDelivery('a', 1),
      fifoDelivery('b', 1, true),
      fifoDelivery('a', 2),
      fifoDelivery('b', 2),
      fifoDelivery('b', 3),
      fifoDelivery('a', 3),
    ];
    const applied: [number, Outcome['type'], number][] = [];
    const items = await processBatch(worker, batch, {
      fifo: true,
      apply: async (d, o) => {
        applied.push([batch.indexOf(d), o.type, 'delayMs' in o ? o.delayMs : -1]);
        return undefined;
      },
    });
    expect(ran.filter((r) => r.startsWith('a'))).toEqual(['a1', 'a2', 'a3']);
    expect(ran.filter((r) => r.startsWith('b'))).toEqual(['b1']);
    expect(items.map((i) => i.outcome.type)).toEqual(['ack', 'retry', 'ack', 'defer', 'defer', 'ack']);
    // The failed head is applied (with its backoff) before its followers are released with no delay.
    const bOrder = applied.filter(([i]) => [1, 3, 4].includes(i));
    expect(bOrder).toEqual([
      [1, 'retry', 30_000],
      [3, 'defer', 0],
      [4, 'defer', 0],
    ]);
  });

  it('lets a group continue after its head is dead-lettered', async () => {
    const worker = createWorker({ retry: 1 }).handle(step, (p) => {
      if (p.fail) throw new Error('boom');
    });
    const items = await processBatch(worker, [fifoDelivery('a', 1, true), fifoDelivery('a', 2)], {
      fifo: true,
      apply: async () => undefined,
    });
    expect(items.map((i) => i.outcome.type)).toEqual(['dead', 'ack']);
  });

  it('respects a concurrency limit shared across batches', async () => {
    let active = 0;
    let peak = 0;
    const worker = createWorker().handle(step, async () => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
    });
    const limit = createLimiter(3);
    const batch = () => Array.from({ length: 10 }, (_, i) => deliveryOf(step, { group: 'x', seq: i }));
    await Promise.all([
      processBatch(worker, batch(), { concurrency: limit, apply: async () => undefined }),
      processBatch(worker, batch(), { concurrency: limit, apply: async () => undefined }),
    ]);
    expect(peak).toBe(3);
  });

  it('reports the applied outcome when the adapter changed it', async () => {
    const worker = createWorker().handle(step, () => {});
    const items = await processBatch(worker, [deliveryOf(step, { group: 'x', seq: 1 })], {
      apply: async () => ({ type: 'retry', delayMs: 60_000, error: new Error('delete failed') }),
    });
    expect(items[0]?.outcome.type).toBe('retry');
  });
});

/** A driver that records the consumer calls `applyOutcome` makes. */
function driverWith(deadLetter: () => Promise<void>) {
  const calls: string[] = [];
  const driver: QueueDriver = {
    name: 'fake',
    capabilities: {
      maxBatchSize: 10,
      maxBatchBytes: 1e6,
      maxDelaySeconds: 900,
      fifo: false,
      fifoDelay: false,
    },
    send: async () => [],
    ack: async () => void calls.push('ack'),
    release: async (_q, _m, seconds) => void calls.push(`release ${seconds}`),
    deadLetter: async () => {
      calls.push('deadLetter');
      return deadLetter();
    },
  };
  return { driver, calls };
}

describe('applyOutcome', () => {
  async function deadResult() {
    const worker = createWorker().handle(step, () => {
      throw new PermanentJobError('no');
    });
    const delivery = { ...deliveryOf(step, { group: 'x', seq: 1 }), receipt: 'r1' };
    return { delivery, result: await worker.run(delivery) };
  }

  it('falls back to a retry in a minute when the dead-letter copy could not be made', async () => {
    const { driver, calls } = driverWith(async () => {
      throw new Error('AccessDenied');
    });
    const { delivery, result } = await deadResult();
    const reported: unknown[] = [];
    const applied = await applyOutcome(driver, 'q', delivery, result, { onError: (e) => reported.push(e) });
    expect(applied.type).toBe('retry');
    expect(calls).toEqual(['deadLetter', 'release 60']);
    expect(reported).toHaveLength(1);
  });

  it('keeps dead when the copy was sent but the original could not be deleted', async () => {
    const { driver, calls } = driverWith(async () => {
      throw Object.assign(new Error('delete failed'), { sent: true });
    });
    const { delivery, result } = await deadResult();
    const applied = await applyOutcome(driver, 'q', delivery, result, { onError: () => {} });
    expect(applied.type).toBe('dead');
    expect(calls).toEqual(['deadLetter']);
  });

  it('awaits beforeRelease just before every change of visibility, and only then', async () => {
    const worker = createWorker().handle(step, (p) => {
      if (p.seq === 2) throw new Error('again');
    });
    const run = async (seq: number) => {
      const delivery = { ...deliveryOf(step, { group: 'x', seq }), receipt: `r${seq}` };
      return { delivery, result: await worker.run(delivery) };
    };
    const applyWith = async (
      fake: ReturnType<typeof driverWith>,
      { delivery, result }: Awaited<ReturnType<typeof run>>,
      beforeRelease: () => Promise<void>,
    ) => {
      const reported: unknown[] = [];
      await applyOutcome(fake.driver, 'q', delivery, result, {
        onError: (e) => reported.push(e),
        beforeRelease,
      });
      return reported;
    };
    const hook =
      (calls: string[], fail = false) =>
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        calls.push('beforeRelease');
        if (fail) throw new Error('hook broke');
      };

    const acked = driverWith(async () => {});
    await applyWith(acked, await run(1), hook(acked.calls));
    expect(acked.calls).toEqual(['ack']);

    const retried = driverWith(async () => {});
    await applyWith(retried, await run(2), hook(retried.calls));
    expect(retried.calls).toEqual(['beforeRelease', expect.stringMatching(/^release /)]);

    const failedCopy = driverWith(async () => {
      throw new Error('AccessDenied');
    });
    await applyWith(failedCopy, await deadResult(), hook(failedCopy.calls));
    expect(failedCopy.calls).toEqual(['deadLetter', 'beforeRelease', 'release 60']);

    // A hook that throws is reported, and the visibility is set all the same.
    const broken = driverWith(async () => {});
    const reported = await applyWith(broken, await run(2), hook(broken.calls, true));
    expect(broken.calls).toEqual(['beforeRelease', expect.stringMatching(/^release /)]);
    expect(reported).toEqual([expect.objectContaining({ message: 'hook broke' })]);
  });
});

describe('applyOutcome with a handed-off retry', () => {
  it('deletes the received message instead of changing its visibility', async () => {
    const { driver, calls } = driverWith(async () => {});
    const worker = createWorker().handle(step, () => {});
    const delivery = { ...deliveryOf(step, { group: 'x', seq: 1 }), receipt: 'r1' };
    const result = await worker.run(delivery);
    const handedOff = {
      type: 'retry',
      delayMs: 86_400_000,
      error: new Error('later'),
      handedOff: true,
    } as const;
    const applied = await applyOutcome(driver, 'q', delivery, { ...result, outcome: handedOff });
    expect(applied).toBe(handedOff);
    expect(calls).toEqual(['ack']);
  });
});

describe('processBatch under stress', () => {
  it('skips deliveries not started once its signal aborts, and lists only what ran', async () => {
    const stop = new AbortController();
    const ran: number[] = [];
    const worker = createWorker().handle(step, async (p) => {
      ran.push(p.seq);
      if (p.seq === 1) stop.abort();
    });
    const batch = [1, 2, 3].map((seq) => deliveryOf(step, { group: 'x', seq }));
    const items = await processBatch(worker, batch, {
      concurrency: 1,
      signal: stop.signal,
      apply: async () => undefined,
    });
    expect(ran).toEqual([1]);
    expect(items.map((i) => i.delivery)).toEqual([batch[0]]);
  });

  it('leaves a delivery whose apply failed to the queue, and finishes the others', async () => {
    const errors: unknown[] = [];
    const worker = createWorker().handle(step, () => {});
    const batch = [1, 2, 3].map((seq) => deliveryOf(step, { group: 'x', seq }));
    const items = await processBatch(worker, batch, {
      apply: async (d) => {
        if (d === batch[1]) throw new Error('DeleteMessage failed');
        return undefined;
      },
      onApplyError: (error) => errors.push(error),
    });
    expect(items.map((i) => i.delivery)).toEqual([batch[0], batch[2]]);
    expect(errors).toEqual([new Error('DeleteMessage failed')]);
  });

  it('never lets a limiter run more than its slots, even for callers arriving as a slot frees', async () => {
    const limit = createLimiter(1);
    let active = 0;
    let peak = 0;
    const body = async () => {
      active++;
      peak = Math.max(peak, active);
      await null;
      active--;
    };
    // Callers arriving a microtask apart: some land in the window where a slot was freed for a waiter.
    const tasks: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      tasks.push(limit(body));
      if (i % 3 === 0) await null;
    }
    await Promise.all(tasks);
    expect(peak).toBe(1);
  });
});
