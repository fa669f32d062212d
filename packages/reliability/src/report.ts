import type { ChaosOptions, ChaosReport } from './chaos.ts';
import { FAULT_KINDS } from './fault-proxy.ts';
import { formatChecks, formatTable, passed } from './table.ts';

export function formatParameters(o: ChaosOptions): string {
  const f = o.faults;
  const pct = (p: number) => `${Math.round(p * 1000) / 10}%`;
  return formatTable(
    ['parameter', 'value'],
    [
      ['jobs, seed', `${o.jobs}, ${o.seed}`],
      [
        'worker processes',
        `${o.processes} (${Math.ceil(o.processes / 2)} poller, ${Math.floor(o.processes / 2)} Lambda via runEventSourceMapping)`,
      ],
      ['SIGKILLs', `${o.kills}, about every ${o.killEveryMs} ms, restart after ${o.restartDelayMs} ms`],
      [
        'faults per request',
        `drop ${pct(f.drop)}, delay ${pct(f.delay)} (${f.delayMs[0]}-${f.delayMs[1]} ms), throttle ${pct(f.throttle)}, 500 ${pct(f.serverError)}, lost response ${pct(f.loseResponse)}`,
      ],
      [
        'job fates',
        `transient ${pct(o.fates.transient)}, permanent ${pct(o.fates.permanent)}, always failing ${pct(o.fates.exhaust)}, slow ${pct(o.fates.slow)} (up to ${o.slowMs} ms)`,
      ],
      ['FIFO', `${pct(o.fifoShare)} of jobs, ${o.fifoGroups} groups`],
      [
        'jobs',
        `maxAttempts ${o.maxAttempts}, timeout ${o.jobTimeoutMs} ms, retry after ${o.retryDelayMs} ms; concurrency ${o.concurrency} per queue and process`,
      ],
      [
        'queues',
        `visibility ${o.visibilityTimeoutSeconds} s, maxReceiveCount ${o.maxReceiveCount}; Lambda timeout ${o.functionTimeoutMs} ms`,
      ],
    ],
  );
}

export function formatReport(report: ChaosReport): string {
  const faultRows = [...report.faults]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([action, counts]) => [action, ...FAULT_KINDS.map((k) => String(counts[k]))]);
  const reasons = [...report.reasons].sort((a, b) => b[1] - a[1]).map(([r, n]) => [String(n), r]);
  const failed = report.rows.filter((r) => !passed(r)).length;
  return [
    'Parameters',
    formatParameters(report.options),
    '',
    `Invariants (${report.settled ? 'queues drained' : 'NOT drained before maxRunMs'} after ${Math.round(report.durationMs / 1000)} s; ${report.kills} SIGKILLs, ${report.starts} process starts, ${report.failedStarts} of them failed and were tried again)`,
    formatChecks(report.rows),
    '',
    'Requests through the fault proxy',
    formatTable(['action', ...FAULT_KINDS], faultRows),
    '',
    'Dead-letter reasons',
    formatTable(['copies', 'reason'], reasons),
    '',
    failed === 0 ? 'All invariants hold.' : `${failed} invariant(s) broken. Worker output: ${report.logFile}`,
  ].join('\n');
}
