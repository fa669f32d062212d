import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

/** One measured thing: `run` returns named numbers (put the unit in the name). */
export interface Scenario<C = unknown> {
  readonly name: string;
  /** Prepares one run (not measured). */
  setup?(): Promise<C>;
  run(context: C): Promise<Record<string, number>>;
}

export interface RunOptions {
  /** Runs thrown away first (JIT, connections). @default 1 */
  warmup?: number;
  /** Measured runs; the table shows their median. @default 5 */
  runs?: number;
  /** Where the JSON goes. @default bench/results/<suite>.json */
  output?: string;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

const format = (value: number): string =>
  Number.isInteger(value)
    ? value.toLocaleString('en-US')
    : value.toLocaleString('en-US', { maximumFractionDigits: 1 });

/** Runs each scenario `warmup + runs` times, prints a table of medians and writes every sample as JSON. */
export async function runScenarios(
  suite: string,
  scenarios: readonly Scenario<any>[],
  options: RunOptions = {},
) {
  const warmup = options.warmup ?? 1;
  const runs = options.runs ?? 5;
  const results: { scenario: string; median: Record<string, number>; samples: Record<string, number>[] }[] =
    [];
  for (const scenario of scenarios) {
    const samples: Record<string, number>[] = [];
    for (let i = 0; i < warmup + runs; i++) {
      const context = scenario.setup ? await scenario.setup() : undefined;
      const sample = await scenario.run(context);
      if (i >= warmup) samples.push(sample);
    }
    const metrics = Object.keys(samples[0] ?? {});
    results.push({
      scenario: scenario.name,
      median: Object.fromEntries(metrics.map((m) => [m, median(samples.map((s) => s[m] as number))])),
      samples,
    });
    process.stderr.write(`  ${scenario.name}: done\n`);
  }

  const metrics = [...new Set(results.flatMap((r) => Object.keys(r.median)))];
  const rows = [
    ['scenario', ...metrics],
    ...results.map((r) => [
      r.scenario,
      ...metrics.map((m) => (m in r.median ? format(r.median[m] as number) : '')),
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length)));
  const line = (row: string[]) =>
    `| ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | ')} |`;
  console.log(`\n${suite}: median of ${runs} runs after ${warmup} warm-up\n`);
  console.log(line(rows[0]!));
  console.log(
    `|${widths.map((w, c) => (c === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
  );
  for (const row of rows.slice(1)) console.log(line(row));

  const output = options.output ?? join(import.meta.dirname, '..', 'results', `${suite}.json`);
  mkdirSync(join(output, '..'), { recursive: true });
  const machine = {
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    platform: process.platform,
  };
  writeFileSync(
    output,
    `${JSON.stringify({ suite, date: new Date().toISOString(), machine, warmup, runs, results }, null, 2)}\n`,
  );
  console.log(`\nwritten to ${output}`);
  return results;
}
