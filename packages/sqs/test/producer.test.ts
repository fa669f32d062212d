import type { OutgoingMessage } from '@glasswork/core';
import {
  ConfigurationError,
  createClient,
  DelayTooLongError,
  defineJob,
  EnqueueError,
  JOB_NAME_ATTRIBUTE,
  messageBytes,
  PayloadTooLargeError,
} from '@glasswork/core';
import { describe, expect, it } from 'vitest';
import { SqsError, sendBatch, sqsDriver } from '../src/index.ts';
import type { Peeked } from './helpers.ts';
import { useSqs, wrapClient } from './helpers.ts';

const sqs = useSqs();

const note = defineJob<{ n: number; text?: string }>({ name: 'note' });
const ordered = defineJob<{ n: number; group: string }>({ name: 'ordered', group: (p) => p.group });

async function receiveAll(url: string, expected: number) {
  const messages: Peeked[] = [];
  for (let round = 0; round < 50 && messages.length < expected; round++)
    messages.push(...(await sqs.peek(url)));
  return messages;
}

function outgoing(id: string, group?: string, extra: Partial<OutgoingMessage> = {}): OutgoingMessage {
  const body = JSON.stringify({ v: 1, id, name: 'raw', enqueuedAt: new Date().toISOString(), meta: {} });
  const attributes = { [JOB_NAME_ATTRIBUTE]: 'raw' };
  return {
    id,
    jobName: 'raw',
    queue: 'q',
    body,
    attributes,
    bytes: messageBytes(body, attributes),
    delaySeconds: 0,
    groupId: group,
    dedupeId: group ? id : undefined,
    ...extra,
  };
}

describe('enqueueing through the SQS driver', () => {
  it('sends 1,000 jobs in 100 SendMessageBatch requests, each with its job-name attribute', async () => {
    const queue = sqs.queue('bulk');
    const client = wrapClient(sqs.client);
    const glass = createClient({
      driver: sqsDriver({ client, endpoint: sqs.endpoint, queues: { bulk: queue.url } }),
    });
    const results = await glass.enqueueMany(
      Array.from({ length: 1000 }, (_, n) => ({ job: note, payload: { n }, options: { queue: 'bulk' } })),
    );
    expect(results.every((r) => r.ok && r.messageId)).toBe(true);
    expect(client.count('SendMessageBatch')).toBe(100);
    expect(client.count('GetQueueAttributes')).toBe(1);
    expect(sqs.count(queue.name)).toBe(1000);
    const [first] = await receiveAll(queue.url, 1);
    expect(first?.attributes).toEqual({ [JOB_NAME_ATTRIBUTE]: 'note' });
  });

  it('splits batches by bytes: SQS counts body plus attributes against 1 MiB per request', async () => {
    const queue = sqs.queue('big');
    const client = wrapClient(sqs.client);
    const glass = createClient({
      driver: sqsDriver({ client, endpoint: sqs.endpoint, queues: { big: queue.url } }),
    });
    const text = 'é'.repeat(150_000); // 300,000 bytes of UTF-8 in 150,000 characters
    const results = await glass.enqueueMany(
      Array.from({ length: 7 }, (_, n) => ({ job: note, payload: { n, text }, options: { queue: 'big' } })),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    // Three messages of ~300 KB fit under 1 MiB, a fourth would not.
    expect(
      client.calls.filter((c) => c.command === 'SendMessageBatch').map((c) => c.input.Entries.length),
    ).toEqual([3, 3, 1]);
  });

  it('looks queue names up once with GetQueueUrl, takes URLs and ARNs as they are, and refuses unknown names', async () => {
    const a = sqs.queue('by-name');
    const b = sqs.queue('by-arn');
    const client = wrapClient(sqs.client);
    const driver = sqsDriver({ client, endpoint: sqs.endpoint, queues: { a: a.name, b: b.arn } });
    const glass = createClient({ driver });
    await glass.enqueue(note, { n: 1 }, { queue: 'a' });
    await glass.enqueue(note, { n: 2 }, { queue: 'a' });
    await glass.enqueue(note, { n: 3 }, { queue: 'b' });
    await glass.enqueue(note, { n: 4 }, { queue: a.url });
    expect(client.count('GetQueueUrl')).toBe(1);
    expect(sqs.count(a.name)).toBe(3);
    expect(sqs.count(b.name)).toBe(1);
    await expect(glass.enqueue(note, { n: 5 }, { queue: 'c' })).rejects.toThrow(
      'Queue "c" is not configured: pass queues: { "c": url } to sqsDriver',
    );
  });

  it('does not cache a failed lookup: the next enqueue asks again', async () => {
    let failNext = true;
    const client = wrapClient(sqs.client, (call) => {
      if (call.command === 'GetQueueUrl' && failNext) {
        failNext = false;
        return Promise.reject(Object.assign(new Error('boom'), { name: 'AccessDenied' }));
      }
      return undefined;
    });
    const queue = sqs.queue('retry-lookup');
    const glass = createClient({ driver: sqsDriver({ client, endpoint: sqs.endpoint }) });
    const first = await glass.enqueueMany([{ job: note, payload: { n: 1 }, options: { queue: queue.name } }]);
    expect(first[0]?.ok).toBe(false);
    await glass.enqueue(note, { n: 2 }, { queue: queue.name });
    expect(client.count('GetQueueUrl')).toBe(2);
    const missing = await glass.enqueueMany([
      { job: note, payload: { n: 1 }, options: { queue: 'no-such-queue' } },
    ]);
    expect(missing[0]?.ok === false && missing[0].error.message).toMatch(/"no-such-queue" does not exist/);
  });

  it('refuses a queue name SQS could never have with a ConfigurationError, without asking SQS', async () => {
    const client = wrapClient(sqs.client);
    const glass = createClient({ driver: sqsDriver({ client, endpoint: sqs.endpoint }) });
    for (const queue of ['has space', 'q'.repeat(81), 'slash/ed', `${'f'.repeat(76)}.fifo!`]) {
      await expect(glass.enqueue(note, { n: 1 }, { queue })).rejects.toThrow(
        expect.objectContaining({
          name: 'ConfigurationError',
          message: expect.stringContaining('1 to 80 letters'),
        }),
      );
    }
    await glass.enqueue(note, { n: 1 }, { queue: sqs.queue('ok-name_1').name });
    expect(client.count('GetQueueUrl')).toBe(1);
    expect(client.count('SendMessageBatch')).toBe(1);
  });

  it('delays up to 900 s natively and refuses longer delays, pointing to the scheduler', async () => {
    const queue = sqs.queue('delayed');
    const client = wrapClient(sqs.client);
    const glass = createClient({
      driver: sqsDriver({ client, endpoint: sqs.endpoint, queues: { d: queue.url } }),
    });
    await glass.enqueueIn(note, '15m', { n: 1 }, { queue: 'd' });
    expect(client.calls.at(-1)?.input.Entries[0].DelaySeconds).toBe(900);
    expect(sqs.server.inspectQueue(queue.name)?.messages.delayed).toHaveLength(1);
    const error = await glass.enqueueIn(note, '16m', { n: 2 }, { queue: 'd' }).catch((e) => e);
    expect(error).toBeInstanceOf(DelayTooLongError);
    expect(error.message).toContain('@glasswork/scheduler');
  });

  it('on FIFO queues: group and dedup id from the job, a clear error for a missing group or a delay', async () => {
    const queue = sqs.queue('orders', { fifo: true });
    const client = wrapClient(sqs.client);
    const glass = createClient({
      driver: sqsDriver({ client, endpoint: sqs.endpoint, queues: { o: queue.url } }),
    });
    const dedupe = defineJob<{ n: number }>({ name: 'dedupe', group: 'g', dedupe: (p) => `n-${p.n}` });
    const sent = await glass.enqueue(ordered, { n: 1, group: 'g1' }, { queue: 'o' });
    await glass.enqueue(dedupe, { n: 7 }, { queue: 'o' });
    const [a, b] = await receiveAll(queue.url, 2);
    expect(a).toMatchObject({ group: 'g1', dedupe: sent.id });
    expect(b).toMatchObject({ group: 'g', dedupe: 'n-7' });

    const before = client.calls.length;
    await expect(glass.enqueue(note, { n: 1 }, { queue: 'o' })).rejects.toBeInstanceOf(ConfigurationError);
    await expect(
      glass.enqueueIn(ordered, '5s', { n: 2, group: 'g1' }, { queue: 'o' }),
    ).rejects.toBeInstanceOf(DelayTooLongError);
    expect(client.calls.length).toBe(before);
  });

  it('checks size against the queue’s MaximumMessageSize before sending', async () => {
    const queue = sqs.queue('small', { attributes: { MaximumMessageSize: '2048' } });
    const client = wrapClient(sqs.client);
    const glass = createClient({
      driver: sqsDriver({ client, endpoint: sqs.endpoint, queues: { s: queue.url } }),
    });
    const error = await glass.enqueue(note, { n: 1, text: 'x'.repeat(3000) }, { queue: 's' }).catch((e) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error.limit).toBe(2048);
    expect(client.count('SendMessageBatch')).toBe(0);
  });
});

describe('sendBatch: per-entry results and retries', () => {
  it('reports entries SQS refuses (SenderFault) without retrying them, and sends the rest', async () => {
    const queue = sqs.queue('refuse');
    const client = wrapClient(sqs.client);
    // SQS refuses U+0001 in a body; the core never produces it, so the message is built by hand.
    const bad = outgoing('bad');
    const results = await sendBatch(client, queue.url, false, [
      outgoing('a'),
      { ...bad, body: bad.body.replace('raw', 'r\u0001w') },
      outgoing('c'),
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    const error = results[1]?.ok === false ? results[1].error : undefined;
    expect(error).toBeInstanceOf(SqsError);
    expect((error as SqsError).sqsCode).toBe('InvalidMessageContents');
    expect(client.count('SendMessageBatch')).toBe(1);
  });

  it('retries only entries SQS failed on its side, under the same ids', async () => {
    const queue = sqs.queue('flaky-entries');
    const client = wrapClient(sqs.client, (call, forward, index) => {
      if (call.command !== 'SendMessageBatch' || index > 1) return undefined;
      // SQS accepts m0 and m2 and fails m1 on its side (an emulator cannot do this).
      const failed = call.input.Entries.filter((e: { Id: string }) => e.Id === 'm1');
      const rest = call.input.Entries.filter((e: { Id: string }) => e.Id !== 'm1');
      return forward({ ...call.input, Entries: rest }).then((out) => ({
        ...out,
        Failed: failed.map((e: { Id: string }) => ({ Id: e.Id, SenderFault: false, Code: 'InternalError' })),
      }));
    });
    const results = await sendBatch(client, queue.url, false, [outgoing('a'), outgoing('b'), outgoing('c')]);
    expect(results.every((r) => r.ok)).toBe(true);
    const batches = client.calls.filter((c) => c.command === 'SendMessageBatch');
    expect(batches.map((c) => c.input.Entries.map((e: { Id: string }) => e.Id))).toEqual([
      ['m0', 'm1', 'm2'],
      ['m1'],
    ]);
    expect(sqs.count(queue.name)).toBe(3);
  });

  it('gives up on a retryable entry after the attempts and reports it failed', async () => {
    const queue = sqs.queue('always-failing');
    const client = wrapClient(sqs.client, (call) =>
      call.command === 'SendMessageBatch'
        ? Promise.resolve({
            Successful: [],
            Failed: call.input.Entries.map((e: { Id: string }) => ({
              Id: e.Id,
              SenderFault: false,
              Code: 'InternalError',
            })),
          })
        : undefined,
    );
    const results = await sendBatch(client, queue.url, false, [outgoing('a')], { attempts: 2 });
    expect(results[0]?.ok).toBe(false);
    expect(results[0]?.ok === false && results[0].error.message).toContain('after 2 attempts');
    expect(client.count('SendMessageBatch')).toBe(2);
  });

  it('FIFO: never retries an entry once a later one of its group went through; reports it failed', async () => {
    const queue = sqs.queue('fifo-partial', { fifo: true });
    const client = wrapClient(sqs.client, (call, forward, index) => {
      if (call.command !== 'SendMessageBatch' || index > 1) return undefined;
      // m0 (group a) fails on SQS's side while m1 (group a) and m2 (group b) go through.
      const rest = call.input.Entries.filter((e: { Id: string }) => e.Id !== 'm0');
      return forward({ ...call.input, Entries: rest }).then((out) => ({
        ...out,
        Failed: [{ Id: 'm0', SenderFault: false, Code: 'InternalError' }],
      }));
    });
    const results = await sendBatch(client, queue.url, true, [
      outgoing('a1', 'a'),
      outgoing('a2', 'a'),
      outgoing('b1', 'b'),
    ]);
    expect(results.map((r) => r.ok)).toEqual([false, true, true]);
    expect(results[0]?.ok === false && results[0].error.message).toContain(
      'a later message of FIFO group "a" went through',
    );
    expect(client.count('SendMessageBatch')).toBe(1);
  });

  it('FIFO: retries a group’s failed entries together and in order when nothing later went through', async () => {
    const queue = sqs.queue('fifo-retry', { fifo: true });
    const client = wrapClient(sqs.client, (call, forward, index) => {
      if (call.command !== 'SendMessageBatch' || index > 1) return undefined;
      const failing = new Set(['m1', 'm2']);
      const rest = call.input.Entries.filter((e: { Id: string }) => !failing.has(e.Id));
      return forward({ ...call.input, Entries: rest }).then((out) => ({
        ...out,
        Failed: [...failing].map((Id) => ({ Id, SenderFault: false, Code: 'ServiceUnavailable' })),
      }));
    });
    const results = await sendBatch(client, queue.url, true, [
      outgoing('a1', 'a'),
      outgoing('a2', 'a'),
      outgoing('a3', 'a'),
    ]);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(client.calls.at(-1)?.input.Entries.map((e: { Id: string }) => e.Id)).toEqual(['m1', 'm2']);
    const got = await receiveAll(queue.url, 1);
    expect(JSON.parse(got[0]?.body ?? '{}').id).toBe('a1');
  });

  it('FIFO: after an entry of a group fails, later entries of that group in the call are not sent', async () => {
    const queue = sqs.queue('fifo-guard', { fifo: true });
    const client = wrapClient(sqs.client, (call, forward, index) => {
      if (call.command !== 'SendMessageBatch' || index > 1) return undefined;
      // m0 (group a) is refused; m1 (group a) fails on SQS's side; m2 (group b) goes through.
      const rest = call.input.Entries.filter((e: { Id: string }) => e.Id === 'm2');
      return forward({ ...call.input, Entries: rest }).then((out) => ({
        ...out,
        Failed: [
          { Id: 'm0', SenderFault: true, Code: 'InvalidParameterValue' },
          { Id: 'm1', SenderFault: false, Code: 'InternalError' },
        ],
      }));
    });
    const results = await sendBatch(client, queue.url, true, [
      outgoing('a1', 'a'),
      outgoing('a2', 'a'),
      outgoing('b1', 'b'),
    ]);
    expect(results.map((r) => r.ok)).toEqual([false, false, true]);
    expect(results[1]?.ok === false && results[1].error.message).toContain(
      'an earlier message of FIFO group "a"',
    );
    expect(client.count('SendMessageBatch')).toBe(1);
  });

  it('refuses more than 10 message attributes before sending, and the group after it on FIFO', async () => {
    const queue = sqs.queue('attrs', { fifo: true });
    const client = wrapClient(sqs.client);
    const attributes = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`a${i}`, 'x']));
    const results = await sendBatch(client, queue.url, true, [
      outgoing('a1', 'a', { attributes }),
      outgoing('a2', 'a'),
      outgoing('b1', 'b'),
    ]);
    expect(results.map((r) => r.ok)).toEqual([false, false, true]);
    expect(results[0]?.ok === false && results[0].error.message).toContain('at most 10');
    expect(client.calls[0]?.input.Entries.map((e: { Id: string }) => e.Id)).toEqual(['m2']);
  });

  it('turns a failed request into a failure of every entry, reported by the client as EnqueueError', async () => {
    const client = wrapClient(sqs.client, (call) =>
      call.command === 'SendMessageBatch'
        ? Promise.reject(Object.assign(new Error('denied'), { name: 'AccessDenied' }))
        : undefined,
    );
    const queue = sqs.queue('denied');
    const glass = createClient({
      driver: sqsDriver({ client, endpoint: sqs.endpoint, queues: { q: queue.url } }),
    });
    const results = await glass.enqueueMany([
      { job: note, payload: { n: 1 }, options: { queue: 'q' } },
      { job: note, payload: { n: 2 }, options: { queue: 'q' } },
    ]);
    expect(results.map((r) => r.ok)).toEqual([false, false]);
    const error = results[0]?.ok === false ? results[0].error : undefined;
    expect(error).toBeInstanceOf(EnqueueError);
    expect((error as EnqueueError).cause).toBeInstanceOf(SqsError);
    expect(((error as EnqueueError).cause as SqsError).sqsCode).toBe('AccessDenied');
  });
});
