import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from '@aws-sdk/client-sqs';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Worker } from '@glasswork/core';
import { createClient, createWorker, decodeEnvelope } from '@glasswork/core';
import { mockDriver } from '@glasswork/mock';
import type { FauxqsServer } from 'fauxqs';
import { startFauxqs } from 'fauxqs';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePeriodicJob, isScheduled, localScheduler, withScheduler } from '../src/index.ts';
import { reminder, shipOrder } from './helpers.ts';

const T0 = Date.parse('2024-01-15T07:58:00Z');

let server: FauxqsServer;
let sqs: SQSClient;
const urls: Record<string, string> = {};

beforeAll(async () => {
  server = await startFauxqs({ port: 0, logger: false });
  sqs = new SQSClient({
    endpoint: server.address,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  for (const name of ['emails', 'reports', 'late', 'restarts'])
    urls[name] = server.createQueue(name).queueUrl;
  // EventBridge Scheduler cannot pass a deduplication id: FIFO targets deduplicate on content.
  urls['orders.fifo'] = server.createQueue('orders.fifo', {
    attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'true' },
  }).queueUrl;
});

afterAll(async () => {
  sqs?.destroy();
  await server?.stop();
});

async function receive(queue: string, waitSeconds = 0, max = 10): Promise<Message[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: urls[queue],
      MaxNumberOfMessages: max,
      WaitTimeSeconds: waitSeconds,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
  );
  return out.Messages ?? [];
}

/** Runs a received message through the worker as an adapter would, and deletes it when done. */
async function runThrough(worker: Worker<any>, queue: string, message: Message, now: number) {
  const result = await worker.run({
    messageId: message.MessageId as string,
    body: message.Body as string,
    receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 1),
    queue,
    receivedAt: now,
  });
  await result.settle();
  if (result.outcome.type === 'ack') {
    await sqs.send(new DeleteMessageCommand({ QueueUrl: urls[queue], ReceiptHandle: message.ReceiptHandle }));
  }
  return result.outcome;
}

describe('localScheduler with the SQS emulator', () => {
  it('delivers a job enqueued 20 minutes ahead when the virtual clock gets there, and it runs', async () => {
    const mock = mockDriver({ startTime: T0 });
    const local = localScheduler({ sqs, queues: urls, now: () => mock.now() });
    const producer = createClient({ driver: withScheduler(mock, { scheduler: local }) });

    const result = await producer.enqueueIn(reminder, '20m', { userId: 'u1' }, { id: 'reminder-1' });
    expect(isScheduled(result)).toBe(true);
    expect(mock.enqueued).toHaveLength(0);
    expect(local.pending()).toEqual([{ jobId: 'reminder-1', queue: 'emails', at: T0 + 20 * 60_000 }]);

    expect(await local.runDue()).toBe(0);
    mock.advance('19m');
    expect(await local.runDue()).toBe(0);
    expect(await receive('emails')).toEqual([]);

    mock.advance('1m');
    expect(await local.runDue()).toBe(1);
    expect(local.pending()).toEqual([]);
    const [message, ...rest] = await receive('emails');
    expect(rest).toEqual([]);
    // As EventBridge's templated SQS target sends it: the envelope as body, no message attributes.
    expect(message?.MessageAttributes).toBeUndefined();
    const decoded = decodeEnvelope(message?.Body as string);
    expect(decoded.ok && decoded.envelope).toMatchObject({
      id: 'reminder-1',
      name: 'send-reminder',
      payload: { userId: 'u1' },
      enqueuedAt: new Date(T0).toISOString(),
    });

    const seen: unknown[] = [];
    const worker = createWorker().handle(
      reminder,
      (payload, ctx) => void seen.push([payload, ctx.jobId, ctx.attempt]),
    );
    expect((await runThrough(worker, 'emails', message as Message, mock.now())).type).toBe('ack');
    expect(seen).toEqual([[{ userId: 'u1' }, 'reminder-1', 1]]);
    expect(await receive('emails')).toEqual([]);
  });

  it('delivers on its own with start(), on an accelerated clock', async () => {
    const realStart = Date.now();
    const speed = 1200; // 20 minutes in a second
    const local = localScheduler({
      sqs,
      queues: urls,
      now: () => T0 + (Date.now() - realStart) * speed,
      pollInterval: '50ms',
    });
    const producer = createClient({
      driver: withScheduler(mockDriver({ startTime: T0 }), { scheduler: local }),
    });
    await producer.enqueueIn(reminder, '20m', { userId: 'u2' }, { id: 'reminder-2' });
    local.start();
    try {
      const messages = await receive('emails', 10);
      expect(messages.map((m) => JSON.parse(m.Body as string).id)).toEqual(['reminder-2']);
      const worker = createWorker().handle(reminder, () => {});
      expect((await runThrough(worker, 'emails', messages[0] as Message, Date.now())).type).toBe('ack');
    } finally {
      await local.stop();
    }
    expect(local.pending()).toEqual([]);
  });

  it('fires periodic jobs at their times, each run with its own id, through the worker', async () => {
    let clock = T0;
    const everyFive = definePeriodicJob({
      name: 'every-five',
      schedule: 'cron(0/5 * * * ? *)',
      queue: 'reports',
    });
    const parisNine = definePeriodicJob({
      name: 'paris-nine',
      schedule: 'cron(0 9 * * ? *)',
      timezone: 'Europe/Paris',
      queue: 'reports',
      schema: v.object({ format: v.string() }),
      payload: { format: 'pdf' },
    });
    const hourly = definePeriodicJob({ name: 'hourly', schedule: 'rate(1 hour)', queue: 'reports' });
    const local = localScheduler({
      sqs,
      queues: urls,
      periodic: [everyFive, parisNine, hourly],
      now: () => clock,
    });

    expect(await local.runDue()).toBe(1); // a rate schedule starts at once, as EventBridge's does
    expect(local.nextDueAt()).toBe(Date.parse('2024-01-15T08:00:00Z'));
    clock = Date.parse('2024-01-15T08:00:30Z');
    expect(await local.runDue()).toBe(2); // every-five at 08:00, and 9:00 in Paris
    clock = Date.parse('2024-01-15T08:12:00Z');
    expect(await local.runDue()).toBe(2); // 08:05 and 08:10
    clock = Date.parse('2024-01-15T08:58:00Z');
    expect(await local.runDue()).toBe(10); // 08:15 ... 08:55, and the hourly run at 08:58

    const ids: string[] = [];
    const runs: string[] = [];
    const worker = createWorker()
      .handle(everyFive, (_p, ctx) => void runs.push(ctx.jobId))
      .handle(parisNine, ({ format }, ctx) => void runs.push(`${ctx.jobId} ${format}`))
      .handle(hourly, (_p, ctx) => void runs.push(ctx.jobId));
    for (let batch = await receive('reports'); batch.length > 0; batch = await receive('reports')) {
      for (const message of batch) {
        ids.push(JSON.parse(message.Body as string).id);
        expect((await runThrough(worker, 'reports', message, clock)).type).toBe('ack');
      }
    }
    expect(ids.sort()).toEqual(
      [
        'periodic:hourly:2024-01-15T07:58:00Z',
        'periodic:hourly:2024-01-15T08:58:00Z',
        'periodic:paris-nine:2024-01-15T08:00:00Z',
        ...['00', '05', '10', '15', '20', '25', '30', '35', '40', '45', '50', '55'].map(
          (m) => `periodic:every-five:2024-01-15T08:${m}:00Z`,
        ),
      ].sort(),
    );
    expect(runs).toContain('periodic:paris-nine:2024-01-15T08:00:00Z pdf');
    expect(runs).toHaveLength(15);
  });

  it('skips runs older than a day after a long pause, as EventBridge gives up after its maximum event age', async () => {
    let clock = T0;
    const hourly = definePeriodicJob({ name: 'catch-up', schedule: 'rate(1 hour)', queue: 'late' });
    const local = localScheduler({ sqs, queues: urls, periodic: [hourly], now: () => clock });
    expect(await local.runDue()).toBe(1);
    clock = T0 + 72 * 3_600_000;
    expect(await local.runDue()).toBe(25); // the runs of the last 24 hours, both ends included
    let count = 0;
    for (let batch = await receive('late'); batch.length > 0; batch = await receive('late')) {
      count += batch.length;
      for (const m of batch)
        await sqs.send(new DeleteMessageCommand({ QueueUrl: urls.late, ReceiptHandle: m.ReceiptHandle }));
    }
    expect(count).toBe(26);
  });

  it('sends a delayed FIFO job with its message group', async () => {
    const mock = mockDriver({ startTime: T0 });
    const local = localScheduler({ sqs, queues: urls, now: () => mock.now() });
    const producer = createClient({ driver: withScheduler(mock, { scheduler: local }) });
    await producer.enqueueIn(shipOrder, '10m', { orderId: 'o-7' }, { id: 'ship-7' });
    mock.advance('10m');
    expect(await local.runDue()).toBe(1);
    const [message] = await receive('orders.fifo');
    expect(message?.Attributes?.MessageGroupId).toBe('o-7');
    expect(JSON.parse(message?.Body as string)).toMatchObject({ id: 'ship-7', payload: { orderId: 'o-7' } });
    await sqs.send(
      new DeleteMessageCommand({ QueueUrl: urls['orders.fifo'], ReceiptHandle: message?.ReceiptHandle }),
    );
  });

  it('cancels a waiting job', async () => {
    const mock = mockDriver({ startTime: T0 });
    const local = localScheduler({ sqs, queues: urls, now: () => mock.now() });
    const driver = withScheduler(mock, { scheduler: local });
    const { id } = await createClient({ driver }).enqueueIn(reminder, '1h', { userId: 'u3' });
    expect(await driver.cancel(id)).toBe(true);
    expect(await driver.cancel(id)).toBe(false);
    mock.advance('2h');
    expect(await local.runDue()).toBe(0);
    expect(await receive('emails')).toEqual([]);
  });

  it('keeps waiting jobs in a file across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'glasswork-scheduler-'));
    const file = join(dir, 'pending.json');
    try {
      const mock = mockDriver({ startTime: T0 });
      const first = localScheduler({ sqs, queues: urls, now: () => mock.now(), file });
      await createClient({ driver: withScheduler(mock, { scheduler: first }) }).enqueueIn(
        reminder,
        '3d',
        { userId: 'u4' },
        { id: 'kept' },
      );
      expect(JSON.parse(readFileSync(file, 'utf8'))).toHaveLength(1);

      const second = localScheduler({
        sqs,
        queues: { emails: urls.restarts as string },
        now: () => mock.now(),
        file,
      });
      expect(second.pending().map((p) => p.jobId)).toEqual(['kept']);
      mock.advance('3d');
      expect(await second.runDue()).toBe(1);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([]);
      const [message] = await receive('restarts');
      expect(JSON.parse(message?.Body as string).id).toBe('kept');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps a job whose send fails and sends it once the queue is there', async () => {
    const errors: unknown[] = [];
    const mock = mockDriver({ startTime: T0 });
    const missingUrl = `${server.address}/000000000000/not-yet`;
    const local = localScheduler({
      sqs,
      queues: { emails: missingUrl },
      now: () => mock.now(),
      onError: (e) => errors.push(e),
    });
    await createClient({ driver: withScheduler(mock, { scheduler: local }) }).enqueueIn(reminder, '1h', {
      userId: 'u5',
    });
    mock.advance('1h');
    expect(await local.runDue()).toBe(0);
    expect(errors).toHaveLength(1);
    expect(local.pending()).toHaveLength(1);
    urls['not-yet'] = server.createQueue('not-yet').queueUrl;
    expect(await local.runDue()).toBe(1);
    expect((await receive('not-yet')).map((m) => JSON.parse(m.Body as string).payload)).toEqual([
      { userId: 'u5' },
    ]);
  });
});
