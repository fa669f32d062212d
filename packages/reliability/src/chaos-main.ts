import { parseArgs } from 'node:util';
import type { ChaosOptions } from './chaos.ts';
import { DEFAULT_CHAOS, runChaos } from './chaos.ts';
import type { FaultMix } from './fault-proxy.ts';
import type { FateMix } from './plan.ts';
import { formatReport } from './report.ts';
import { passed } from './table.ts';

// `pnpm test:chaos [--jobs 10000] [--seed 1] [--processes 2] [--kills 12] [--faults drop=0.02,...]`; each
// flag may also come from the environment as CHAOS_<NAME> (CHAOS_JOBS=1000, CHAOS_KILL_EVERY=3000).

const numeric = {
  jobs: 'jobs',
  seed: 'seed',
  processes: 'processes',
  kills: 'kills',
  'kill-every': 'killEveryMs',
  'restart-delay': 'restartDelayMs',
  'fifo-share': 'fifoShare',
  'fifo-groups': 'fifoGroups',
  'slow-ms': 'slowMs',
  'max-attempts': 'maxAttempts',
  'job-timeout': 'jobTimeoutMs',
  'retry-delay': 'retryDelayMs',
  'function-timeout': 'functionTimeoutMs',
  visibility: 'visibilityTimeoutSeconds',
  'max-receive-count': 'maxReceiveCount',
  concurrency: 'concurrency',
  'max-run': 'maxRunMs',
} as const satisfies Record<string, keyof ChaosOptions>;

const { values } = parseArgs({
  options: {
    ...Object.fromEntries(Object.keys(numeric).map((k) => [k, { type: 'string' as const }])),
    faults: { type: 'string' },
    fates: { type: 'string' },
    help: { type: 'boolean' },
  },
});
const flag = (name: string): string | undefined =>
  (values as Record<string, string | undefined>)[name] ??
  process.env[`CHAOS_${name.toUpperCase().replaceAll('-', '_')}`];

if (values.help) {
  console.log(
    `Flags (or CHAOS_<FLAG> variables): ${Object.keys(numeric)
      .map((k) => `--${k}`)
      .join(' ')} --faults drop=0.02,delay=0.05,throttle=0.03,serverError=0.02,loseResponse=0.02 ` +
      '--fates transient=0.1,permanent=0.03,exhaust=0.02,slow=0.05',
  );
  process.exit(0);
}

function mix<T extends object>(base: T, text: string | undefined): T {
  if (!text) return base;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const part of text.split(',')) {
    const [key, value] = part.split('=') as [string, string | undefined];
    if (!(key in base) || value === undefined || Number.isNaN(Number(value))) {
      throw new Error(`Unknown or invalid setting "${part}": use ${Object.keys(base).join(', ')}`);
    }
    out[key] = Number(value);
  }
  return out as T;
}

const options: Record<string, unknown> = { ...DEFAULT_CHAOS };
for (const [name, key] of Object.entries(numeric)) {
  const value = flag(name);
  if (value === undefined) continue;
  if (Number.isNaN(Number(value))) throw new Error(`--${name} needs a number, got "${value}"`);
  options[key] = Number(value);
}
options.faults = mix<FaultMix>(DEFAULT_CHAOS.faults, flag('faults'));
options.fates = mix<FateMix>(DEFAULT_CHAOS.fates, flag('fates'));
options.log = (line: string) => console.error(`[chaos] ${line}`);

const report = await runChaos(options as unknown as ChaosOptions);
console.log(formatReport(report));
process.exit(report.settled && report.rows.every(passed) ? 0 : 1);
