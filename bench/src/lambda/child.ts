import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Sample } from '../runner.ts';
import type { Contender } from './contenders.ts';
import { bareLoop, powertools, powertoolsFull } from './contenders.ts';
import { buildEvents, createWork, lambdaContext } from './events.ts';

// Runs one contender of the Lambda suite in this (fresh) process: `warmup` runs thrown away, then `runs`
// measured ones, each over `records` records in 10-record events built beforehand, invoked one after
// another as Lambda would. Prints the samples as one JSON line.

export interface ChildSpec {
  readonly contender: string;
  readonly records: number;
  readonly warmup: number;
  readonly runs: number;
  /** 1 record in 20 throws. */
  readonly failing: boolean;
  readonly storeDelayMs: number;
}

export const CONTENDERS: Record<string, Contender> = {
  bare: bareLoop,
  powertools,
  'powertools-full': powertoolsFull,
};

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function measure(spec: ChildSpec, run: number): Promise<Sample> {
  const contender = CONTENDERS[spec.contender];
  if (!contender) throw new Error(`no contender "${spec.contender}"`);
  const work = createWork(spec.failing);
  const built = await contender({ work, storeDelayMs: spec.storeDelayMs });
  const events = buildEvents(spec.records, run);
  const context = lambdaContext();
  gc();
  const base = process.memoryUsage().heapUsed;
  let peak = base;
  let failures = 0;
  const started = performance.now();
  for (let i = 0; i < events.length; i++) {
    const response = await built.handler(events[i]!, context);
    failures += response?.batchItemFailures.length ?? 0;
    if (i % 100 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
  }
  const ms = performance.now() - started;
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  // A benchmark of a handler that skipped records would be worthless: check every one ran and failed as set.
  const expectedFailures = spec.failing ? Math.floor(spec.records / 20) : 0;
  if (work.handled !== spec.records || failures !== expectedFailures) {
    throw new Error(
      `${spec.contender}: ${work.handled} of ${spec.records} records handled, ${failures} failures reported (expected ${expectedFailures})`,
    );
  }
  const perThousand = (n: number) => (n / spec.records) * 1000;
  return {
    'records/s': (spec.records / ms) * 1000,
    'µs/record': (ms * 1000) / spec.records,
    'heap MB': (peak - base) / 2 ** 20,
    ...Object.fromEntries(
      Object.entries(built.stats?.() ?? {}).map(([k, v]) => [`${k} / 1,000`, perThousand(v)]),
    ),
  };
}

const spec = JSON.parse(process.argv[2] ?? '{}') as ChildSpec;
const samples: Sample[] = [];
for (let i = 0; i < spec.warmup + spec.runs; i++) {
  const sample = await measure(spec, i);
  if (i >= spec.warmup) samples.push(sample);
}
process.stdout.write(`${JSON.stringify(samples)}\n`);
