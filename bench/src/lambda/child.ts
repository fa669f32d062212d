import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Sample } from '../runner.ts';
import type { Contender } from './contenders.ts';
import { bareLoop, powertools, powertoolsFull } from './contenders.ts';
import { buildEvents, createWork, lambdaContext } from './events.ts';
import { glasswork, glassworkFull } from './glasswork.ts';

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
  glasswork,
  'glasswork-full': glassworkFull,
  powertools,
  'powertools-full': powertoolsFull,
};

/** Enough for the JIT; the measured runs use the full count. */
const WARMUP_RECORDS = 20_000;
const held: unknown[] = [];
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function measure(
  spec: ChildSpec,
  run: number,
  profiler?: (method: string) => Promise<unknown>,
): Promise<Sample> {
  const contender = CONTENDERS[spec.contender];
  if (!contender) throw new Error(`no contender "${spec.contender}"`);
  const work = createWork(spec.failing);
  const built = await contender({ work, storeDelayMs: spec.storeDelayMs });
  const records = run < spec.warmup ? Math.min(spec.records, WARMUP_RECORDS) : spec.records;
  const events = buildEvents(records, run);
  // Held outside the function until after the last heap reading, so the collector cannot free the
  // events (or the handler's stores) early and make "kept" negative.
  held.push(events, built);
  const context = lambdaContext();
  gc();
  const base = process.memoryUsage().heapUsed;
  let peak = base;
  let failures = 0;
  await profiler?.('Profiler.start');
  const started = performance.now();
  for (let i = 0; i < events.length; i++) {
    const response = await built.handler(events[i]!, context);
    failures += response?.batchItemFailures.length ?? 0;
    if (i % 100 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
  }
  const ms = performance.now() - started;
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  gc();
  const kept = process.memoryUsage().heapUsed - base;
  held.length = 0;
  // A benchmark of a handler that skipped records would be worthless: check every one ran and failed as set.
  const expectedFailures = spec.failing ? Math.floor(records / 20) : 0;
  if (work.handled !== records || failures !== expectedFailures) {
    throw new Error(
      `${spec.contender}: ${work.handled} of ${records} records handled, ${failures} failures reported (expected ${expectedFailures})`,
    );
  }
  const perThousand = (n: number) => (n / records) * 1000;
  return {
    'records/s': (records / ms) * 1000,
    'µs/record': (ms * 1000) / records,
    'heap peak MB': (peak - base) / 2 ** 20,
    'heap kept MB': kept / 2 ** 20,
    ...Object.fromEntries(
      Object.entries(built.stats?.() ?? {}).map(([k, v]) => [`${k} / 1,000`, perThousand(v)]),
    ),
  };
}

const spec = JSON.parse(process.argv[2] ?? '{}') as ChildSpec;
// BENCH_PROFILE=<dir>: a CPU profile of the last run's invocations alone (not the building of its events,
// not the runs before), written to <dir>/<contender>.cpuprofile.
const profileDir = process.env.BENCH_PROFILE;
const session = profileDir ? new Session() : undefined;
const post = (method: string) =>
  new Promise<any>((resolve, reject) =>
    session!.post(method, (error, result) => (error ? reject(error) : resolve(result))),
  );
if (session) {
  session.connect();
  await post('Profiler.enable');
  // 100 µs between samples (the default is 1 ms): a run takes about a second.
  await new Promise((resolve) => session.post('Profiler.setSamplingInterval', { interval: 100 }, resolve));
}
const samples: Sample[] = [];
for (let i = 0; i < spec.warmup + spec.runs; i++) {
  const last = i === spec.warmup + spec.runs - 1;
  const sample = await measure(spec, i, session && last ? post : undefined);
  if (i >= spec.warmup) samples.push(sample);
}
if (session) {
  const { profile } = (await post('Profiler.stop')) as { profile: unknown };
  mkdirSync(profileDir!, { recursive: true });
  writeFileSync(join(profileDir!, `${spec.contender}.cpuprofile`), JSON.stringify(profile));
}
process.stdout.write(`${JSON.stringify(samples)}\n`);
