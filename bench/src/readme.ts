import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SuiteResult } from './runner.ts';

const README = join(import.meta.dirname, '..', 'README.md');

/**
 * Puts each suite's latest table between `<!-- bench:<suite> -->` and `<!-- /bench:<suite> -->` in
 * bench/README.md, with when and where it ran; suites that did not run keep their last table.
 */
export function updateReadme(results: readonly SuiteResult[]): string[] {
  let text = readFileSync(README, 'utf8');
  const updated: string[] = [];
  for (const r of results) {
    const start = `<!-- bench:${r.suite} -->`;
    const end = `<!-- /bench:${r.suite} -->`;
    const from = text.indexOf(start);
    const to = text.indexOf(end);
    if (from < 0 || to < from) continue;
    const m = r.machine;
    const block = [
      start,
      '',
      `Median of ${r.runs} run${r.runs === 1 ? '' : 's'}${r.warmup ? ` after ${r.warmup} warm-up` : ''}, ${r.date.slice(0, 10)}; ` +
        `${m.cpus} × ${m.cpu}, ${m.memoryGiB} GiB, Node ${m.node}, load average ${m.load} at the start.`,
      '',
      r.table,
      '',
      ...(r.note ? [r.note, ''] : []),
      end,
    ].join('\n');
    text = text.slice(0, from) + block + text.slice(to + end.length);
    updated.push(r.suite);
  }
  writeFileSync(README, text);
  return updated;
}
