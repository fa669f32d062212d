import type { DriverCapabilities, QueueDriver } from '@glasswork/core';

/** The assertions the suite uses; vitest's and jest's `expect` fit. */
export interface SuiteAssertion {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
  toMatchObject(expected: any): void;
  toBeInstanceOf(expected: any): void;
  toContain(expected: any): void;
  toHaveLength(expected: number): void;
  toBeGreaterThanOrEqual(expected: number | bigint): void;
  toBeLessThanOrEqual(expected: number | bigint): void;
}

/** The test runner's functions, passed in so the suite depends on no runner. */
export interface TestApi {
  it(name: string, fn: () => Promise<void>, timeout?: number): void;
  expect(actual: unknown, message?: string): SuiteAssertion;
  /** Groups the tests under the suite's name, when given. */
  describe?(name: string, fn: () => void): void;
}

/** A message that went to a queue's dead-letter queue. */
export interface DeadLetterCopy {
  /** The body as it was received, byte for byte. */
  readonly body: string;
  /** Why it was dead-lettered, as the driver records it. */
  readonly reason: string | undefined;
}

/**
 * What one test runs against: a driver and fresh, empty queues that no other test uses, so tests never see
 * each other's messages (and may run concurrently).
 */
export interface DriverFixture {
  readonly driver: QueueDriver;
  readonly queues: {
    /** A standard queue whose dead jobs the driver can dead-letter. */
    readonly standard: string;
    /** A FIFO queue with a dead-letter queue; leave out when the driver has no FIFO support. */
    readonly fifo?: string;
  };
  /** The messages dead-lettered from `queue` so far (reading may consume them). */
  deadLetters(queue: string): Promise<readonly DeadLetterCopy[]>;
  /** Called after the test. */
  close?(): Promise<void>;
}

export interface SuiteOptions {
  /** Shown in the test names. @default the driver's name */
  name?: string;
  /**
   * Moves time forward by `ms`: the mock driver's virtual clock (`driver.advance`), or a real sleep for a
   * driver on a real queue.
   */
  advance(ms: number, driver: QueueDriver): Promise<void> | void;
  /** Capabilities the driver declares; the suite checks the driver reports exactly these. */
  capabilities?: Partial<DriverCapabilities>;
  /** Visibility timeout the suite receives with, in ms (whole seconds on SQS). @default 2000 */
  visibilityTimeoutMs?: number;
  /** Long-poll wait of the suite's receives (real queues may need one to see every message). @default 0 */
  receiveWaitMs?: number;
  /** Per-test timeout handed to `it`. @default 30000 */
  timeout?: number;
}
