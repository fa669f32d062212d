import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/demo.ts';
import { formatSummary } from '../src/summary.ts';

const run = promisify(execFile);
const bin = join(import.meta.dirname, '..', 'bin', 'demo.js');

/** Runs the demo as `pnpm demo` does: a child process, the packages resolved from source by the hook. */
async function demo(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      env: { ...process.env, NO_COLOR: '1' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('pnpm demo', () => {
  it('lists its options', async () => {
    const { code, stdout } = await demo('--help');
    expect(code).toBe(0);
    for (const option of ['--jobs', '--endpoint', '--delay', '--concurrency', '--logs', '--timeout'])
      expect(stdout).toContain(option);
  });

  it('refuses a bad option with the help text and exit code 2', async () => {
    const { code, stderr } = await demo('--jobs', 'many');
    expect(code).toBe(2);
    expect(stderr).toContain('--jobs must be a whole number');
  });

  it.concurrent('runs every kind of job on the in-process emulator and exits 0 with its summary', async () => {
    const { code, stdout, stderr } = await demo('--jobs', '20', '--delay', '1s');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('Queues on the SQS emulator in this process (http://127.0.0.1:');
    expect(stdout).toMatch(/WARN +sync-customer +job failed, retrying in 1s/);
    expect(stdout).toMatch(/WARN +sync-customer +job failed, retrying in 2s/);
    expect(stdout).toMatch(/progress .* 32\/32 done · 2 retried · 1 dead-lettered/);
    expect(stdout).toContain('Summary: every job finished');
    expect(stdout).toMatch(/all jobs +32 +31 +2 +1 +\d+ ms/);
    expect(stdout).toContain(
      'dead-letter queue  charge-card: "permanent failure: card declined for order ord-9: insufficient funds"',
    );
    expect(stdout).toContain('acct-ada 1→2→3→4, acct-grace 1→2→3→4 (each in order)');
    expect(stdout).toMatch(/SQS requests +\d+: .*SendMessageBatch \d+/);
    expect(stdout).toMatch(/process jobs +attempt 3 +success/);
  }, 60_000);

  it.concurrent('creates its queues on another endpoint (LocalStack, SQS) and deletes them afterwards', async () => {
    const server = await startFauxqs({ port: 0, logger: false });
    const endpoint = `http://127.0.0.1:${server.port}`;
    const lines: string[] = [];
    try {
      const summary = await runDemo({
        endpoint,
        jobs: 25,
        delay: '1s',
        logs: 'none',
        print: (l) => lines.push(l),
      });
      expect(summary.complete).toBe(true);
      expect(summary.where).toMatch(
        new RegExp(`^${endpoint} \\(queues glasswork-demo-\\w+-\\*, deleted afterwards\\)$`),
      );
      const byJob = Object.fromEntries(summary.jobs.map((s) => [s.job, s]));
      expect(byJob['make-thumbnail']).toMatchObject({ enqueued: 25, succeeded: 25, retried: 0, dead: 0 });
      expect(byJob['sync-customer']).toMatchObject({ succeeded: 1, retried: 2 });
      expect(byJob['charge-card']).toMatchObject({ succeeded: 0, dead: 1 });
      expect(byJob['post-ledger-entry']).toMatchObject({
        queue: 'ledger.fifo',
        succeeded: 8,
      });
      expect(summary.deadLetters).toEqual([
        {
          job: 'charge-card',
          reason: 'permanent failure: card declined for order ord-9: insufficient funds',
        },
      ]);
      expect(summary.ledger).toEqual({ 'acct-ada': [1, 2, 3, 4], 'acct-grace': [1, 2, 3, 4] });
      // 25 thumbnails in batches of ten: three SendMessageBatch calls from the fan-out alone.
      expect(summary.requests.SendMessageBatch).toBeGreaterThanOrEqual(3);
      expect(summary.spans.byOperation).toMatchObject({ create: summary.expected });
      expect(summary.spans.byOperation.process).toBeGreaterThanOrEqual(summary.expected + 2);
      expect(summary.trace.slice(1)).toEqual([
        expect.stringMatching(/^ {2}create jobs /),
        expect.stringMatching(/^ {4}process \S+-jobs +attempt 1 +retry /),
        expect.stringMatching(/^ {4}process \S+-jobs +attempt 2 +retry /),
        expect.stringMatching(/^ {4}process \S+-jobs +attempt 3 +success /),
      ]);
      expect(formatSummary(summary)).toContain('Summary: every job finished');

      const client = new SQSClient({
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      });
      const left = await client.send(new ListQueuesCommand({ QueueNamePrefix: 'glasswork-demo-' }));
      client.destroy();
      expect(left.QueueUrls ?? []).toEqual([]);
    } finally {
      await server.stop();
    }
  }, 60_000);
});
