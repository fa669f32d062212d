import type { SQSClient } from '@aws-sdk/client-sqs';
import { SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Delivery } from '@glasswork/core';
import { createWorker, definePlugin } from '@glasswork/core';
import { idempotencyPlugin, memoryStore } from '@glasswork/idempotency';
import { createSqsHandler, runEventSourceMapping } from '@glasswork/lambda';
import { createPoller, DEAD_LETTER_ATTRIBUTE, sqsDriver } from '@glasswork/sqs';
import type { LocalQueue, LocalSqs } from '@glasswork/sqs/local';
import type { Expectation, HostileMessage } from './hostile-cases.ts';
import { goodMessages, hostileMessages, target } from './hostile-cases.ts';

/** What became of one message in one pipeline. */
export interface Observation {
  readonly outcome: 'ack' | 'dead' | 'retry' | 'defer' | 'discard' | 'missing';
  readonly reason?: string | undefined;
  /** For dead-lettered messages: whether the copy's body is the original, byte for byte. */
  readonly bodyIntact?: boolean | undefined;
  readonly reasonAttribute?: boolean | undefined;
}

export interface Run {
  readonly observations: Map<string, Observation>;
  /** Ordinary messages of the same batches that did not complete. */
  readonly goodMissing: number;
  readonly goodTotal: number;
  /** The consumer was still up and ran a message sent after all the others. */
  readonly stillUp: boolean;
}

/** Whether an observation is what the case expects. */
export function meets(expect: Expectation, seen: Observation, message?: HostileMessage): boolean {
  if (expect.outcome === 'ack') return seen.outcome === 'ack';
  if (seen.outcome !== 'dead' || seen.reason === undefined || !expect.reason.test(seen.reason)) return false;
  if (seen.bodyIntact === false) return false;
  // A copy carries its reason unless the body leaves no room for it.
  return seen.reasonAttribute !== false || message?.noRoomForReason !== undefined;
}

export const polluted = () =>
  Object.hasOwn(Object.prototype, 'polluted') || ({} as { polluted?: unknown }).polluted !== undefined;

/** A worker as a user would have it: the idempotency plugin, incompatible messages dead at once. */
export function hostileWorker(seen: Set<string>, deadReasons = new Map<string, string>()) {
  // The `dead` event is where a reason goes when the dead-letter copy has no room for it.
  const reasons = definePlugin({
    name: 'reasons',
    setup: (hooks) =>
      hooks.on('dead', ({ ctx, outcome }) => void deadReasons.set(ctx.messageId, outcome.reason)),
  });
  return createWorker({
    plugins: [reasons, idempotencyPlugin({ store: memoryStore(), onError: () => {} })],
    incompatibleFor: 0,
    retry: 3,
  }).handle(target, (payload, ctx) => {
    if (polluted()) throw new Error('Object.prototype was polluted');
    seen.add(ctx.messageId);
    return payload.text.length;
  });
}

/** Every hostile message straight through `worker.run`, one after another. */
export async function runDirect(): Promise<Run> {
  const seen = new Set<string>();
  const worker = hostileWorker(seen);
  const observations = new Map<string, Observation>();
  let n = 0;
  for (const message of hostileMessages()) {
    const delivery: Delivery = {
      messageId: `direct-${++n}`,
      body: message.body,
      receiveCount: 1,
      queue: 'hostile',
      attributes: message.attributes,
    };
    const { outcome, settle } = await worker.run(delivery);
    await settle();
    observations.set(message.name, {
      outcome: outcome.type,
      reason: outcome.type === 'dead' || outcome.type === 'discard' ? outcome.reason : undefined,
    });
  }
  const last = goodMessages(1, 'direct-after')[0]!;
  const { outcome } = await worker.run({
    messageId: 'last',
    body: last.body,
    receiveCount: 1,
    queue: 'hostile',
  });
  return { observations, goodMissing: 0, goodTotal: 0, stillUp: outcome.type === 'ack' };
}

interface Sent {
  readonly byId: Map<string, HostileMessage>;
  readonly goodIds: Set<string>;
}

/** Sends the hostile messages mixed with ordinary ones, ten to a batch where sizes allow. */
async function sendMixed(client: SQSClient, queueUrl: string, tag: string): Promise<Sent> {
  const hostile = hostileMessages().filter((m) => m.sqsRefuses === undefined);
  const good = goodMessages(hostile.length, tag);
  const items = hostile.flatMap((message, i) => [
    { message: message as HostileMessage | undefined, body: message.body, attributes: message.attributes },
    { message: undefined, body: (good[i] as { body: string }).body, attributes: undefined },
  ]);
  const byId = new Map<string, HostileMessage>();
  const goodIds = new Set<string>();
  const record = (item: (typeof items)[number], id: string | undefined) => {
    if (!id) throw new Error(`the emulator did not accept ${item.message?.name ?? 'an ordinary message'}`);
    if (item.message) byId.set(id, item.message);
    else goodIds.add(id);
  };
  const toAttributes = (attributes: Readonly<Record<string, string>> | undefined) =>
    attributes
      ? Object.fromEntries(
          Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
        )
      : undefined;
  const size = (item: (typeof items)[number]) =>
    Buffer.byteLength(item.body) +
    Object.entries(item.attributes ?? {}).reduce((n, [k, v]) => n + k.length + 6 + Buffer.byteLength(v), 0);
  let batch: typeof items = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const entries = batch;
    batch = [];
    const out = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: entries.map((item, i) => ({
          Id: `e${i}`,
          MessageBody: item.body,
          MessageAttributes: toAttributes(item.attributes),
        })),
      }),
    );
    if (out.Failed?.length) throw new Error(`the emulator refused: ${JSON.stringify(out.Failed)}`);
    for (const ok of out.Successful ?? []) record(entries[Number(ok.Id?.slice(1))]!, ok.MessageId);
  };
  for (const item of items) {
    if (size(item) > 256 * 1024) {
      const out = await client.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: item.body,
          MessageAttributes: toAttributes(item.attributes),
        }),
      );
      record(item, out.MessageId);
      continue;
    }
    if (batch.length === 10 || batch.reduce((n, b) => n + size(b), 0) + size(item) > 900 * 1024)
      await flush();
    batch.push(item);
  }
  await flush();
  return { byId, goodIds };
}

/** What the dead-letter queue holds, by original message id. */
function deadLetters(sqs: LocalSqs, queue: LocalQueue) {
  const dlq = sqs.server.inspectQueue(queue.deadLetter!.name);
  const copies = new Map<string, { reason: string | undefined; body: string; attribute: boolean }>();
  const unattributed: string[] = [];
  for (const m of dlq?.messages.ready ?? []) {
    const raw = m.messageAttributes[DEAD_LETTER_ATTRIBUTE]?.StringValue;
    if (!raw) {
      unattributed.push(m.body);
      continue;
    }
    const info = JSON.parse(raw) as { messageId: string; reason: string };
    copies.set(info.messageId, { reason: info.reason, body: m.body, attribute: true });
  }
  return { copies, unattributed };
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** Observations of a queue after a consumer ran: handler runs, dead-letter copies, what is left. */
function observe(
  sqs: LocalSqs,
  queue: LocalQueue,
  sent: Sent,
  seen: Set<string>,
  deadReasons: ReadonlyMap<string, string>,
): Run {
  const { copies, unattributed } = deadLetters(sqs, queue);
  const observations = new Map<string, Observation>();
  for (const [id, message] of sent.byId) {
    const copy = copies.get(id);
    if (copy) {
      observations.set(message.name, {
        outcome: 'dead',
        reason: copy.reason,
        bodyIntact: copy.body === message.body,
        reasonAttribute: true,
      });
    } else if (seen.has(id)) {
      observations.set(message.name, { outcome: 'ack' });
    } else if (message.noRoomForReason && unattributed.includes(message.body)) {
      // In the dead-letter queue, without the reason attribute: the body takes all the room there is.
      observations.set(message.name, {
        outcome: 'dead',
        reason: deadReasons.get(id),
        reasonAttribute: false,
      });
    } else {
      observations.set(message.name, { outcome: 'missing' });
    }
  }
  const goodMissing = [...sent.goodIds].filter((id) => !seen.has(id)).length;
  return { observations, goodMissing, goodTotal: sent.goodIds.size, stillUp: false };
}

/** The hostile messages through the poller, mixed into the batches of ordinary ones. */
export async function runPoller(sqs: LocalSqs): Promise<Run> {
  const queue = sqs.createQueue({ name: 'hostile-poller', visibilityTimeout: 5, maxReceiveCount: 10 });
  const seen = new Set<string>();
  const deadReasons = new Map<string, string>();
  const worker = hostileWorker(seen, deadReasons);
  const driver = sqsDriver({ client: sqs.client, endpoint: sqs.endpoint });
  const sent = await sendMixed(sqs.client, queue.url, 'poller');
  const poller = createPoller({ worker, driver, queue: queue.url, waitTime: '1s', handleSignals: false });
  await poller.start();
  try {
    await until(() => sqs.count(queue.name) === 0, 30_000);
    const run = observe(sqs, queue, sent, seen, deadReasons);
    const after = await sendMixed(sqs.client, queue.url, 'after');
    const stillUp = await until(() => [...after.goodIds].every((id) => seen.has(id)), 30_000);
    await until(() => sqs.count(queue.name) === 0, 30_000);
    return { ...run, stillUp };
  } finally {
    await poller.stop();
  }
}

/** The hostile messages through the Lambda handler, invoked by the local event source mapping. */
export async function runLambda(sqs: LocalSqs): Promise<Run> {
  const queue = sqs.createQueue({ name: 'hostile-lambda', visibilityTimeout: 30, maxReceiveCount: 10 });
  const seen = new Set<string>();
  const deadReasons = new Map<string, string>();
  const handler = createSqsHandler(hostileWorker(seen, deadReasons), {
    client: sqs.client,
    endpoint: sqs.endpoint,
  });
  const sent = await sendMixed(sqs.client, queue.url, 'lambda');
  const mapping = runEventSourceMapping({
    client: sqs.client,
    queueUrl: queue.url,
    handler,
    waitTime: '1s',
    timeout: '20s',
  });
  try {
    await until(() => sqs.count(queue.name) === 0, 30_000);
    const run = observe(sqs, queue, sent, seen, deadReasons);
    const after = await sendMixed(sqs.client, queue.url, 'after');
    const stillUp = await until(() => [...after.goodIds].every((id) => seen.has(id)), 30_000);
    return { ...run, stillUp: stillUp && mapping.stats.failedInvocations === 0 };
  } finally {
    await mapping.stop();
  }
}
