import type { DemoSummary } from './demo.ts';
import type { JobStats } from './stats.ts';
import { percentile } from './stats.ts';

/** The demo's summary as a table and a few lines under it. */
export function formatSummary(summary: DemoSummary): string {
  const rows: string[][] = [['job', 'queue', 'enqueued', 'processed', 'retried', 'dead', 'p50', 'p95']];
  const row = (label: string, queue: string, jobs: readonly JobStats[]) => {
    const sum = (key: 'enqueued' | 'succeeded' | 'retried' | 'dead') => jobs.reduce((n, s) => n + s[key], 0);
    const latencies = jobs.flatMap((s) => s.latencies);
    return [
      label,
      queue,
      String(sum('enqueued')),
      String(sum('succeeded')),
      String(sum('retried')),
      String(sum('dead')),
      duration(percentile(latencies, 50)),
      duration(percentile(latencies, 95)),
    ];
  };
  for (const stats of summary.jobs) rows.push(row(stats.job, stats.queue, [stats]));
  rows.push(row('all jobs', '', summary.jobs));
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((r) => r[column]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  const rule = widths.map((w) => '─'.repeat(w)).join('  ');

  const requests = Object.entries(summary.requests).sort(([, a], [, b]) => b - a);
  const totalRequests = requests.reduce((n, [, c]) => n + c, 0);
  const ledger = Object.entries(summary.ledger)
    .map(([account, seqs]) => `${account} ${seqs.join('→')}`)
    .join(', ');
  const inOrder = Object.values(summary.ledger).every((seqs) =>
    seqs.every((s, i) => i === 0 || s > seqs[i - 1]!),
  );
  const ops = summary.spans.byOperation;

  return [
    `Summary: ${summary.complete ? 'every job finished' : `TIMED OUT before every job finished (${summary.expected} expected)`} in ${duration(summary.wallMs)}`,
    '',
    line(rows[0]!),
    rule,
    ...rows.slice(1, -1).map(line),
    rule,
    line(rows.at(-1)!),
    '',
    `latency            from when a job was due (its enqueue, or the end of its delay) to its success; retries' backoff included`,
    `dead-letter queue  ${summary.deadLetters.length === 0 ? 'empty' : summary.deadLetters.map((d) => `${d.job}: "${d.reason}"`).join('; ')}`,
    `FIFO groups        ${ledger || 'none ran'} (${inOrder ? 'each in order' : 'OUT OF ORDER'})`,
    `Lambda             ${summary.lambda.invocations} invocations, ${summary.lambda.records} records, ${summary.lambda.failedInvocations} failed invocations`,
    `SQS requests       ${totalRequests}: ${requests.map(([action, n]) => `${action} ${n}`).join(', ')}`,
    `spans              ${summary.spans.spans} in ${summary.spans.traces} traces: ${Object.entries(ops)
      .map(([op, n]) => `${op} ${n}`)
      .join(', ')}`,
    ...(summary.trace.length > 0
      ? ['', 'The trace of sync-customer (retried twice, then done):', ...summary.trace]
      : []),
  ].join('\n');
}

function duration(ms: number | undefined): string {
  if (ms === undefined) return '-';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
