import type { BatchItem, QueueDriver, ReceivedMessage, Worker } from '@glasswork/core';
import { applyOutcome, processBatch } from '@glasswork/core';
import type { DriverFixture, SuiteOptions } from './types.ts';

/** Runs a driver's queue through a worker the way an adapter does: receive, `processBatch`, `applyOutcome`. */
export class Harness {
  readonly fixture: DriverFixture;
  readonly driver: QueueDriver;
  readonly options: SuiteOptions;
  readonly visibilityMs: number;

  constructor(fixture: DriverFixture, options: SuiteOptions) {
    this.fixture = fixture;
    this.driver = fixture.driver;
    this.options = options;
    this.visibilityMs = options.visibilityTimeoutMs ?? 2000;
  }

  now = (): number => (this.driver.now ? this.driver.now() : Date.now());

  advance(ms: number): Promise<void> {
    return Promise.resolve(this.options.advance(ms, this.driver));
  }

  async fifo(queue: string): Promise<boolean> {
    return this.driver.describeQueue
      ? (await this.driver.describeQueue(queue)).fifo
      : queue.endsWith('.fifo');
  }

  receive(
    queue: string,
    max = Math.min(10, this.driver.capabilities.maxBatchSize),
  ): Promise<ReceivedMessage[]> {
    if (!this.driver.receive)
      throw new Error(`the ${this.driver.name} driver has no receive(): it cannot be consumed`);
    return this.driver.receive(queue, {
      maxMessages: max,
      visibilityTimeoutMs: this.visibilityMs,
      waitTimeMs: this.options.receiveWaitMs ?? 0,
    });
  }

  /** Receives and processes until a receive comes back empty; returns what was applied, in order. */
  async pump(worker: Worker<any>, queue: string): Promise<BatchItem<ReceivedMessage>[]> {
    const fifo = await this.fifo(queue);
    const items: BatchItem<ReceivedMessage>[] = [];
    for (;;) {
      const batch = await this.receive(queue);
      if (batch.length === 0) return items;
      const applied = await processBatch(worker, batch, {
        fifo,
        apply: (message, _outcome, result) =>
          applyOutcome(this.driver, queue, message, result, { now: this.now }),
      });
      items.push(...applied);
    }
  }

  /** Pumps, moving time by `stepMs` between rounds, until `done()` or `rounds` run out. */
  async runUntil(
    worker: Worker<any>,
    queue: string,
    done: () => boolean,
    { stepMs = 500, rounds = 20 } = {},
  ): Promise<BatchItem<ReceivedMessage>[]> {
    const items: BatchItem<ReceivedMessage>[] = [];
    for (let round = 0; round < rounds; round++) {
      items.push(...(await this.pump(worker, queue)));
      if (done()) return items;
      await this.advance(stepMs);
    }
    throw new Error(`the queue did not reach the expected state within ${rounds} rounds of ${stepMs}ms`);
  }
}
