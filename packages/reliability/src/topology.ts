import type { Lane } from './plan.ts';

/** Everything a worker process needs to reach the services of a run; passed as JSON in its environment. */
export interface WorkerConfig {
  /** `poller` runs `createPoller`; `lambda` runs `createSqsHandler` behind `runEventSourceMapping`. */
  readonly mode: 'poller' | 'lambda';
  readonly label: string;
  /** The fault proxy in front of the emulator. */
  readonly sqsEndpoint: string;
  readonly region: string;
  readonly queues: Readonly<Record<Lane, string>>;
  readonly postgres: { readonly host: string; readonly port: number };
  readonly dynamodb: { readonly endpoint: string; readonly table: string };
  /** Jobs at once per queue (poller) or invocations at once per queue (mapping). */
  readonly concurrency: number;
  /** Attempts per job, its timeout and the retry delay, ms. */
  readonly maxAttempts: number;
  readonly jobTimeoutMs: number;
  readonly retryDelayMs: number;
  /** The idempotency lock: above the longest run, short enough that a killed worker's job runs again soon. */
  readonly lockTimeoutMs: number;
  /** The Lambda function timeout, ms. */
  readonly functionTimeoutMs: number;
}

export const CONFIG_ENV = 'GLASSWORK_CHAOS_WORKER';

/** Messages a worker process sends its parent. */
export type WorkerMessage = { readonly type: 'ready' } | { readonly type: 'error'; readonly error: string };
