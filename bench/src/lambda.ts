import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ChildSpec } from './lambda/child.ts';
import type { Sample, Scenario, SuiteOptions } from './runner.ts';
import { runSuite } from './runner.ts';

// Scenario 1: Lambda batch overhead, in-process, no network. Each contender runs in a fresh process of its
// own (lambda/child.ts), so one's JIT state and garbage do not weigh on the next.

const run = promisify(execFile);

function contender(name: string, spec: Omit<ChildSpec, 'warmup' | 'runs'>): Scenario {
  return {
    name,
    async measure({ warmup, runs }): Promise<Sample[]> {
      const child = new URL('./lambda/child.ts', import.meta.url).pathname;
      const register = new URL('./register.ts', import.meta.url).pathname;
      const { stdout } = await run(
        process.execPath,
        ['--import', register, child, JSON.stringify({ ...spec, warmup, runs })],
        { maxBuffer: 16 * 2 ** 20 },
      );
      return JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]') as Sample[];
    },
  };
}

export interface LambdaSizes {
  /** Records per run with an in-memory store. */
  readonly records: number;
  /** Records per run of the 5% failure variant. */
  readonly failureRecords: number;
  /** Records per run when every store call takes 5 ms. */
  readonly slowRecords: number;
}

export async function lambdaSuites(sizes: LambdaSizes, options: SuiteOptions) {
  const { records, failureRecords, slowRecords } = sizes;
  const floor = 'bare loop';
  const each = (failing: boolean) => {
    const spec = (contender: string) => ({
      contender,
      records: failing ? failureRecords : records,
      failing,
      storeDelayMs: 0,
    });
    return [
      contender(floor, spec('bare')),
      contender('Glasswork, no plugins', spec('glasswork')),
      contender('Glasswork + pino + idempotency', spec('glasswork-full')),
      contender('Powertools BatchProcessor', spec('powertools')),
      contender('Powertools + Logger + makeIdempotent', spec('powertools-full')),
    ];
  };
  const count = (n: number) => n.toLocaleString('en-US');
  const results = [
    await runSuite('lambda', each(false), {
      ...options,
      floor: { scenario: floor, metric: 'µs/record' },
      note:
        `${count(records)} records per run in 10-record SQS events, invoked one after another with a noop ` +
        'handler; each contender in a fresh process; heap: the peak above the heap before the run (garbage ' +
        'included), and what is still held after a full collection (stores).',
    }),
    await runSuite('lambda-failures', each(true), {
      ...options,
      floor: { scenario: floor, metric: 'µs/record' },
      note: `${count(failureRecords)} records per run, 1 in 20 throwing (5%); otherwise as above.`,
    }),
    await runSuite(
      'lambda-slow-store',
      [
        contender('Glasswork + pino + idempotency', {
          contender: 'glasswork-full',
          records: slowRecords,
          failing: false,
          storeDelayMs: 5,
        }),
        contender('Powertools + Logger + makeIdempotent', {
          contender: 'powertools-full',
          records: slowRecords,
          failing: false,
          storeDelayMs: 5,
        }),
      ],
      {
        ...options,
        note: `${count(slowRecords)} records per run; every idempotency store call waits 5 ms (a store across a network).`,
      },
    ),
  ];
  return results;
}
