import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { FauxqsServer } from 'fauxqs';
import { startFauxqs } from 'fauxqs';
import { afterAll, beforeAll } from 'vitest';
import type { SqsClientLike } from '../src/index.ts';
import { DEAD_LETTER_ATTRIBUTE } from '../src/index.ts';

export interface TestQueue {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  readonly dlq: { readonly name: string; readonly url: string; readonly arn: string } | undefined;
}

export interface QueueSpec {
  readonly fifo?: boolean;
  /** Give the queue a RedrivePolicy to a fresh dead-letter queue with this maxReceiveCount. */
  readonly maxReceiveCount?: number;
  readonly visibilityTimeout?: number;
  readonly attributes?: Record<string, string>;
  readonly dlqAttributes?: Record<string, string>;
}

/** A message as a plain receive sees it, with the dead-letter attribute parsed. */
export interface Peeked {
  readonly body: string;
  readonly attributes: Record<string, string>;
  readonly group: string | undefined;
  readonly dedupe: string | undefined;
  readonly deadLetter: any;
}

/** An in-process fauxqs with an SDK client pointed at it. */
export interface Sqs {
  readonly server: FauxqsServer;
  readonly endpoint: string;
  readonly client: SQSClient;
  queue(prefix: string, spec?: QueueSpec): TestQueue;
  /** Receives up to ten messages with every attribute (they stay in flight for the queue's timeout). */
  peek(url: string): Promise<Peeked[]>;
  /** Messages a queue holds, in any state. */
  count(name: string): number;
  /** Stops `poller` (if still running) before the emulator closes. */
  track<T extends { stop(): Promise<void> }>(poller: T): T;
  close(): Promise<void>;
}

/** Starts fauxqs before this file's tests and stops it (and the tracked pollers) after them. */
export function useSqs(): Sqs {
  let current: Sqs | undefined;
  beforeAll(async () => {
    current = await startSqs();
  });
  afterAll(() => current?.close());
  return new Proxy({} as Sqs, {
    get: (_target, key) => {
      if (!current) throw new Error('fauxqs is not started yet: use it inside a test');
      return Reflect.get(current, key);
    },
  });
}

let sequence = 0;

export async function startSqs(): Promise<Sqs> {
  const server = await startFauxqs({ port: 0, logger: false });
  const endpoint = `http://127.0.0.1:${server.port}`;
  const client = new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const pollers: { stop(): Promise<void> }[] = [];
  return {
    server,
    endpoint,
    client,
    track(poller) {
      pollers.push(poller);
      return poller;
    },
    queue(prefix, spec = {}) {
      const suffix = spec.fifo ? '.fifo' : '';
      const base = `${prefix}-${++sequence}`;
      const fifoAttrs: Record<string, string> = spec.fifo ? { FifoQueue: 'true' } : {};
      let dlq: TestQueue['dlq'];
      const attributes: Record<string, string> = {
        ...fifoAttrs,
        VisibilityTimeout: String(spec.visibilityTimeout ?? 30),
        ...spec.attributes,
      };
      if (spec.maxReceiveCount !== undefined) {
        const created = server.createQueue(`${base}-dlq${suffix}`, {
          attributes: { ...fifoAttrs, ...spec.dlqAttributes },
        });
        dlq = { name: created.queueName, url: created.queueUrl, arn: created.queueArn };
        attributes.RedrivePolicy = JSON.stringify({
          deadLetterTargetArn: created.queueArn,
          maxReceiveCount: spec.maxReceiveCount,
        });
      }
      const created = server.createQueue(`${base}${suffix}`, { attributes });
      return { name: created.queueName, url: created.queueUrl, arn: created.queueArn, dlq };
    },
    async peek(url) {
      const out = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: 10,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['MessageGroupId', 'MessageDeduplicationId'],
        }),
      );
      return (out.Messages ?? []).map((m) => {
        const attributes = Object.fromEntries(
          Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? '']),
        );
        return {
          body: m.Body ?? '',
          attributes,
          group: m.Attributes?.MessageGroupId,
          dedupe: m.Attributes?.MessageDeduplicationId,
          deadLetter: JSON.parse(attributes[DEAD_LETTER_ATTRIBUTE] ?? 'null'),
        };
      });
    },
    count(name) {
      const q = server.inspectQueue(name);
      if (!q) throw new Error(`no queue ${name}`);
      return q.messages.ready.length + q.messages.delayed.length + q.messages.inflight.length;
    },
    async close() {
      await Promise.all(pollers.map((p) => p.stop()));
      client.destroy();
      await server.stop();
    },
  };
}

/** One call the wrapped client saw. */
export interface Call {
  readonly command: string;
  readonly input: any;
}

/**
 * Wraps a client to record every call and to inject failures an emulator cannot produce: `intercept` may
 * throw, or return a replacement response (after calling `forward` with a changed input, or not at all).
 */
export function wrapClient(
  inner: SqsClientLike,
  intercept?: (call: Call, forward: (input?: any) => Promise<any>, index: number) => Promise<any> | undefined,
): SqsClientLike & { calls: Call[]; count(command: string): number } {
  const calls: Call[] = [];
  return {
    calls,
    count: (command) => calls.filter((c) => c.command === command).length,
    async send(command: any, options?: any) {
      const call = { command: command.constructor.name.replace(/Command$/, ''), input: command.input };
      calls.push(call);
      const forward = (input?: any) => {
        if (input !== undefined) command.input = input;
        return inner.send(command, options);
      };
      const replaced = intercept?.(call, forward, calls.filter((c) => c.command === call.command).length);
      return replaced ?? forward();
    },
  };
}

/** An SDK-shaped service error. */
export function sqsFault(name: string, status: number, message = name): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true, or fails after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs}ms`);
    await sleep(20);
  }
}
