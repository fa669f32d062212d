import type { Limiter } from '@glasswork/core';

/**
 * A limiter for `processBatch`, shared by every batch of a poller, that can also hand a slot to a promise:
 * a handler that outlived its timeout keeps its slot until its own promise settles. Once opened (shutdown),
 * waiting calls go ahead without a slot: they are released, not run.
 */
export interface Slots {
  readonly limit: Limiter;
  /** Takes a slot (even past the limit) until `promise` settles. Call it inside a limited call. */
  hold(promise: Promise<unknown>): void;
  /** Lets every waiting and future call through without a slot. */
  open(): void;
  readonly active: number;
}

export function createSlots(concurrency: number): Slots {
  let active = 0;
  let opened = false;
  const waiting: ((acquired: boolean) => void)[] = [];

  const release = () => {
    active--;
    while (active < concurrency && waiting.length > 0) {
      active++;
      waiting.shift()?.(true);
    }
  };
  const acquire = (): Promise<boolean> | boolean => {
    if (opened) return false;
    if (active < concurrency) {
      active++;
      return true;
    }
    return new Promise((resolve) => waiting.push(resolve));
  };

  return {
    limit: async (fn) => {
      const acquired = await acquire();
      try {
        return await fn();
      } finally {
        if (acquired) release();
      }
    },
    hold(promise) {
      active++;
      promise.then(release, release);
    },
    open() {
      opened = true;
      for (const resolve of waiting.splice(0)) resolve(false);
    },
    get active() {
      return active;
    },
  };
}
