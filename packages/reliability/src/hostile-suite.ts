import { startLocalSqs } from '@glasswork/sqs/local';
import type { Run } from './hostile.ts';
import { meets, polluted, runDirect, runLambda, runPoller } from './hostile.ts';
import { hostileMessages } from './hostile-cases.ts';
import type { EventResult } from './hostile-events.ts';
import { runLambdaEvents } from './hostile-events.ts';
import type { ProducerResult } from './hostile-producer.ts';
import { runProducer } from './hostile-producer.ts';
import { formatTable } from './table.ts';

export interface HostileReport {
  readonly direct: Run;
  readonly poller: Run;
  readonly lambda: Run;
  readonly events: EventResult[];
  readonly producer: ProducerResult[];
  /** Object.prototype was changed by some message. */
  readonly polluted: boolean;
  /** Every message met its expectation in every pipeline, and every other check held. */
  readonly ok: boolean;
  /** Lines that did not hold. */
  readonly failures: string[];
}

/** The hostile-input suite: the messages through `worker.run`, the poller and the Lambda adapter; bad Lambda events; bad enqueues. */
export async function runHostile(): Promise<HostileReport> {
  const direct = await runDirect();
  const sqs = await startLocalSqs();
  try {
    const poller = await runPoller(sqs);
    const lambda = await runLambda(sqs);
    const events = await runLambdaEvents(sqs);
    const producer = await runProducer(sqs);
    const failures: string[] = [];
    for (const message of hostileMessages()) {
      for (const [name, run] of [
        ['worker.run', direct],
        ['poller', poller],
        ['Lambda', lambda],
      ] as const) {
        if (name !== 'worker.run' && message.sqsRefuses) continue;
        const seen = run.observations.get(message.name) ?? { outcome: 'missing' as const };
        if (!meets(message.expect, seen, message))
          failures.push(`${name}: ${message.name}: ${JSON.stringify(seen)}`);
      }
    }
    for (const [name, run] of [
      ['worker.run', direct],
      ['poller', poller],
      ['Lambda', lambda],
    ] as const) {
      if (!run.stillUp) failures.push(`${name}: did not run a message sent after the hostile ones`);
      if (run.goodMissing > 0)
        failures.push(`${name}: ${run.goodMissing} ordinary messages did not complete`);
    }
    for (const e of events) if (!e.ok) failures.push(`Lambda event: ${e.name}: ${e.observed}`);
    for (const p of producer) if (!p.ok) failures.push(`producer: ${p.name}: ${p.error} (${p.sent} sent)`);
    const isPolluted = polluted();
    if (isPolluted) failures.push('Object.prototype was polluted');
    return {
      direct,
      poller,
      lambda,
      events,
      producer,
      polluted: isPolluted,
      ok: failures.length === 0,
      failures,
    };
  } finally {
    await sqs.stop();
  }
}

function cell(run: Run, name: string): string {
  const seen = run.observations.get(name);
  if (!seen) return '-';
  if (seen.outcome !== 'dead') return seen.outcome;
  return `dead${seen.reasonAttribute === false ? ' (reason in the dead event only)' : ''}`;
}

export function formatHostile(report: HostileReport): string {
  const messages = hostileMessages().map((m) => {
    const reason = report.direct.observations.get(m.name)?.reason ?? '';
    const expected = m.expect.outcome === 'ack' ? 'completes' : 'dead, with its reason';
    const ok = !report.failures.some((f) => f.includes(`: ${m.name}:`));
    return [
      m.name,
      expected,
      cell(report.direct, m.name),
      m.sqsRefuses ? 'refused by SQS' : cell(report.poller, m.name),
      m.sqsRefuses ? 'refused by SQS' : cell(report.lambda, m.name),
      ok ? 'yes' : 'NO',
      (reason || m.sqsRefuses || '').slice(0, 100),
    ];
  });
  const batches = (['poller', 'Lambda'] as const).map((name) => {
    const run = name === 'poller' ? report.poller : report.lambda;
    return [name, `${run.goodTotal - run.goodMissing}/${run.goodTotal}`, run.stillUp ? 'yes' : 'NO'];
  });
  return [
    'Hostile messages (each sent beside an ordinary one, so they share batches)',
    formatTable(
      ['message', 'expected', 'worker.run', 'poller', 'Lambda (mapping)', 'ok', 'reason (worker.run)'],
      messages,
    ),
    '',
    formatTable(['adapter', 'ordinary messages completed', 'still up afterwards'], batches),
    '',
    'Lambda events with fields missing (createSqsHandler called directly)',
    formatTable(
      ['event', 'expected', 'observed', 'ok'],
      report.events.map((e) => [e.name, e.expected, e.observed, e.ok ? 'yes' : 'NO']),
    ),
    '',
    'Producer: bad payloads and queues (nothing may be sent)',
    formatTable(
      ['enqueue', 'expected', 'sent', 'ok', 'error'],
      report.producer.map((p) => [
        p.name,
        p.expected,
        String(p.sent),
        p.ok ? 'yes' : 'NO',
        p.error.split('\n')[0]!.slice(0, 110),
      ]),
    ),
    '',
    `Object.prototype polluted: ${report.polluted ? 'YES' : 'no'}`,
    report.ok
      ? 'All hostile-input checks hold.'
      : `${report.failures.length} check(s) failed:\n${report.failures.join('\n')}`,
  ].join('\n');
}
