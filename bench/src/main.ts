import { parseArgs } from 'node:util';
import { coldStartSuite } from './cold-start.ts';
import { consumerSuite } from './consumer.ts';
import { enqueueSuite } from './enqueue.ts';
import { lambdaSuites } from './lambda.ts';
import { updateReadme } from './readme.ts';
import type { SuiteResult } from './runner.ts';
import { startEmulator } from './sqs.ts';

// `pnpm bench [suite ...] [--runs N] [--warmup N] [--quick] [--only <contender>]`: the four scenarios of issue 8, or those named.
// Each prints a table of medians and writes bench/results/<suite>.json; `--quick` shrinks every workload
// (a smoke test, not figures to quote); `--only` runs the contenders whose name contains it (to profile one).

const SUITES = ['lambda', 'consumer', 'enqueue', 'cold-start'] as const;
type SuiteName = (typeof SUITES)[number];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string' },
    warmup: { type: 'string' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const unknown = positionals.filter((p) => !SUITES.includes(p as SuiteName));
if (unknown.length > 0) {
  console.error(`Unknown suite ${unknown.join(', ')}: pick from ${SUITES.join(', ')}`);
  process.exit(2);
}
const selected = positionals.length > 0 ? (positionals as SuiteName[]) : [...SUITES];
const quick = values.quick ?? false;
const runs = values.runs === undefined ? undefined : Number(values.runs);
const warmup = values.warmup === undefined ? undefined : Number(values.warmup);
const counts = (options: { runs: number; warmup: number }) => ({
  only: values.only,
  write: !quick,
  runs: runs ?? (quick ? 1 : options.runs),
  warmup: warmup ?? (quick ? 0 : options.warmup),
});

const started = performance.now();
const results: SuiteResult[] = [];
for (const suite of selected) {
  if (suite === 'lambda') {
    const sizes = quick
      ? { records: 10_000, failureRecords: 10_000, slowRecords: 200 }
      : { records: 200_000, failureRecords: 50_000, slowRecords: 2_000 };
    results.push(...(await lambdaSuites(sizes, counts({ runs: 3, warmup: 1 }))));
  }
  if (suite === 'cold-start') results.push(await coldStartSuite(counts({ runs: 1, warmup: 0 })));
  if (suite === 'consumer' || suite === 'enqueue') {
    const emulator = await startEmulator();
    try {
      if (suite === 'consumer') {
        results.push(await consumerSuite(emulator, quick ? 2_000 : 20_000, counts({ runs: 3, warmup: 1 })));
      } else {
        results.push(await enqueueSuite(emulator, quick ? 1_000 : 10_000, counts({ runs: 3, warmup: 1 })));
      }
    } finally {
      emulator.close();
    }
  }
}
// Quick runs and single contenders are not figures to publish.
if (!quick && values.only === undefined) {
  const updated = updateReadme(results);
  if (updated.length > 0) console.log(`\nbench/README.md: updated ${updated.join(', ')}`);
}
console.log(`\nall done in ${((performance.now() - started) / 1000).toFixed(0)}s`);
