import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';

/** Named numbers of one run: put the unit in the name (`records/s`, `µs/record`). */
export type Sample = Record<string, number>;

/** One contender of a suite. */
export interface Scenario<C = unknown> {
  readonly name: string;
  /** Prepares one run (not measured); a warm-up run may get a smaller workload. */
  setup?(phase: 'warmup' | 'run'): Promise<C>;
  /** One measured run. */
  run?(context: C): Promise<Sample>;
  /**
   * Measures itself instead (in a fresh process, say): does its warm-up, then returns one sample per
   * measured run.
   */
  measure?(plan: { warmup: number; runs: number }): Promise<Sample[]>;
}

export interface SuiteOptions {
  /** Runs thrown away first (JIT, connections). @default 1 */
  warmup?: number;
  /** Measured runs; the table shows their median. @default 5 */
  runs?: number;
  /** The scenario that is the floor, and the metric compared with it in the `÷ floor` column. */
  floor?: { readonly scenario: string; readonly metric: string };
  /**
   * Take turns: every scenario's warm-up, then run 1 of each, run 2 of each... so a drift of the machine
   * (an emulator warming up, say) spreads over all contenders instead of favouring the last. Scenarios
   * that `measure` themselves are run whole, in their turn. @default false
   */
  interleave?: boolean;
  /** A line printed under the table (what was measured, how). */
  note?: string;
  /** More to keep in the JSON beside the samples (what a bundle is made of, say). */
  details?: unknown;
  /** Run only the contenders whose name contains this (for profiling one); the JSON is then not written. */
  only?: string | undefined;
  /** Write the JSON. @default true */
  write?: boolean;
  /** Where the JSON goes. @default bench/results/<suite>.json */
  output?: string;
}

export interface SuiteResult {
  readonly suite: string;
  readonly date: string;
  readonly machine: Machine;
  readonly warmup: number;
  readonly runs: number;
  readonly floor: SuiteOptions['floor'];
  readonly note: string | undefined;
  readonly results: { scenario: string; median: Sample; samples: Sample[] }[];
  /** The table as Markdown. */
  readonly table: string;
  readonly details?: unknown;
}

export interface Machine {
  /** The 1-minute load average when the suite started: other work on the machine skews the figures. */
  readonly load: number;
  readonly node: string;
  readonly cpus: number;
  readonly cpu: string | undefined;
  readonly memoryGiB: number;
  readonly platform: string;
}

export const machine = (): Machine => ({
  load: Math.round(loadavg()[0]! * 100) / 100,
  node: process.version,
  cpus: cpus().length,
  cpu: cpus()[0]?.model,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  platform: `${process.platform}-${process.arch}`,
});

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** Three significant figures or so: enough to compare, few enough to read. */
export const format = (value: number): string => {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value) || Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toLocaleString('en-US', { maximumFractionDigits: Math.abs(value) >= 10 ? 1 : 2 });
};

/** A Markdown table: first column left-aligned, the others right-aligned. */
export function markdownTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length)));
  const line = (row: readonly string[]) =>
    `| ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | ')} |`;
  // As Biome formats Markdown tables, so a README written by the bench passes `biome check`.
  const rule = `| ${widths.map((w, c) => (c === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`;
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join('\n');
}

/**
 * Runs each scenario `warmup + runs` times (or lets it measure itself), prints a table of medians with
 * the ratio to the floor, and writes every sample as JSON.
 */
export async function runSuite(
  suite: string,
  all: readonly Scenario<any>[],
  options: SuiteOptions = {},
): Promise<SuiteResult> {
  const only = options.only;
  const scenarios = only === undefined ? all : all.filter((s) => s.name.includes(only));
  const warmup = options.warmup ?? 1;
  const runs = options.runs ?? 5;
  const host = machine();
  const sampled = new Map<Scenario<any>, Sample[]>(scenarios.map((s) => [s, []]));
  const turn = async (scenario: Scenario<any>, times: number, keep: boolean) => {
    const started = performance.now();
    const samples = scenario.measure
      ? await scenario.measure({ warmup, runs })
      : await repeat(scenario, keep ? 0 : times, keep ? times : 0);
    sampled.get(scenario)!.push(...samples);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    process.stderr.write(`  ${suite}: ${scenario.name}${keep ? '' : ' (warm-up)'} ${seconds}s\n`);
  };
  if (options.interleave) {
    for (const scenario of scenarios)
      if (!scenario.measure && warmup > 0) await turn(scenario, warmup, false);
    for (const scenario of scenarios) if (scenario.measure) await turn(scenario, runs, true);
    for (let i = 0; i < runs; i++) {
      for (const scenario of scenarios) if (!scenario.measure) await turn(scenario, 1, true);
    }
  } else {
    for (const scenario of scenarios) {
      if (!scenario.measure && warmup > 0) await turn(scenario, warmup, false);
      await turn(scenario, runs, true);
    }
  }
  const results: SuiteResult['results'] = scenarios.map((scenario) => {
    const samples = sampled.get(scenario)!;
    const metrics = Object.keys(samples[0] ?? {});
    return {
      scenario: scenario.name,
      median: Object.fromEntries(metrics.map((m) => [m, median(samples.map((s) => s[m] as number))])),
      samples,
    };
  });

  const metrics = [...new Set(results.flatMap((r) => Object.keys(r.median)))];
  const floor = options.floor;
  const floorValue = floor && results.find((r) => r.scenario === floor.scenario)?.median[floor.metric];
  const rows = [
    ['contender', ...metrics, ...(floor ? [`${floor.metric} ÷ floor`] : [])],
    ...results.map((r) => [
      r.scenario,
      ...metrics.map((m) => (m in r.median ? format(r.median[m] as number) : '')),
      ...(floor
        ? [
            floorValue && r.median[floor.metric] !== undefined
              ? `${((r.median[floor.metric] as number) / floorValue).toFixed(2)}×`
              : '',
          ]
        : []),
    ]),
  ];
  const table = markdownTable(rows);
  console.log(`\n${suite}: median of ${runs} runs after ${warmup} warm-up\n\n${table}`);
  if (options.note) console.log(`\n${options.note}`);

  const output = options.output ?? join(import.meta.dirname, '..', 'results', `${suite}.json`);
  mkdirSync(join(output, '..'), { recursive: true });
  const result: SuiteResult = {
    suite,
    date: new Date().toISOString(),
    machine: host,
    warmup,
    runs,
    floor,
    note: options.note,
    results,
    table,
    ...(options.details === undefined ? {} : { details: options.details }),
  };
  if (only === undefined && options.write !== false) {
    writeFileSync(output, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`\nwritten to ${output}`);
  }
  return result;
}

async function repeat(scenario: Scenario<any>, warmup: number, runs: number): Promise<Sample[]> {
  if (!scenario.run) throw new Error(`scenario "${scenario.name}" has neither run nor measure`);
  const samples: Sample[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const context = scenario.setup ? await scenario.setup(i < warmup ? 'warmup' : 'run') : undefined;
    const sample = await scenario.run(context);
    if (i >= warmup) samples.push(sample);
  }
  return samples;
}
