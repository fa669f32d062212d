import { ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { createSqsHandler } from '@glasswork/lambda';
import { DEAD_LETTER_ATTRIBUTE } from '@glasswork/sqs';
import type { LocalSqs } from '@glasswork/sqs/local';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { hostileWorker } from './hostile.ts';
import { goodMessages } from './hostile-cases.ts';

/** One Lambda event the handler was given, and what it answered. */
export interface EventResult {
  readonly name: string;
  /** What must happen, in words. */
  readonly expected: string;
  readonly observed: string;
  readonly ok: boolean;
}

function context(ms = 30_000): Context {
  const deadline = Date.now() + ms;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'hostile',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:hostile',
    memoryLimitInMB: '512',
    awsRequestId: crypto.randomUUID(),
    logGroupName: '/aws/lambda/hostile',
    logStreamName: 'hostile',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** Real records (real receipts) from the emulator, in the shape Lambda hands them over. */
async function receiveRecords(sqs: LocalSqs, count: number): Promise<{ records: SQSRecord[]; dlq: string }> {
  const queue = sqs.createQueue({ name: 'hostile-events', visibilityTimeout: 30, maxReceiveCount: 10 });
  const bodies = goodMessages(count, 'event');
  await sqs.client.send(
    new SendMessageBatchCommand({
      QueueUrl: queue.url,
      Entries: bodies.map((b, i) => ({ Id: `e${i}`, MessageBody: b.body })),
    }),
  );
  const records: SQSRecord[] = [];
  while (records.length < count) {
    const out = await sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: queue.url,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    for (const m of out.Messages ?? []) {
      records.push({
        messageId: m.MessageId!,
        receiptHandle: m.ReceiptHandle!,
        body: m.Body!,
        attributes: {
          ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
          SentTimestamp: m.Attributes?.SentTimestamp ?? '0',
          SenderId: 'local',
          ApproximateFirstReceiveTimestamp: '0',
        },
        messageAttributes: {},
        md5OfBody: m.MD5OfBody ?? '',
        eventSource: 'aws:sqs',
        eventSourceARN: queue.arn,
        awsRegion: sqs.region,
      });
    }
  }
  return { records, dlq: queue.deadLetter!.name };
}

/**
 * Lambda events with fields missing, handed straight to `createSqsHandler`: it must never throw, report
 * every record it could not act on (when it has an id to report), and complete the rest of the batch.
 */
export async function runLambdaEvents(sqs: LocalSqs): Promise<EventResult[]> {
  const seen = new Set<string>();
  const handler = createSqsHandler(hostileWorker(seen), { client: sqs.client, endpoint: sqs.endpoint });
  const results: EventResult[] = [];
  const answer = async (event: unknown) => {
    try {
      const response = await handler(event as SQSEvent, context());
      return { failures: response.batchItemFailures.map((f) => f.itemIdentifier), error: undefined };
    } catch (error) {
      return { failures: [] as string[], error: String(error) };
    }
  };

  for (const [name, event] of [
    ['no event at all (null)', null],
    ['an event without Records', {}],
    ['Records that is not an array', { Records: 'nope' }],
    ['Records with null and a number in it', { Records: [null, 7] }],
  ] as const) {
    const { failures, error } = await answer(event);
    results.push({
      name,
      expected: 'answers with no failures, does not throw',
      observed: error ?? `batchItemFailures: [${failures.join(', ')}]`,
      ok: error === undefined && failures.length === 0,
    });
  }

  const { records, dlq } = await receiveRecords(sqs, 6);
  const [intact, noId, noReceipt, noArn, noBody, noAttributes] = records as [SQSRecord, ...SQSRecord[]];
  const strip = (record: SQSRecord | undefined, field: keyof SQSRecord) => {
    const copy: Partial<SQSRecord> = { ...record };
    delete copy[field];
    return copy;
  };
  const event = {
    Records: [
      intact,
      strip(noId, 'messageId'),
      strip(noReceipt, 'receiptHandle'),
      strip(noArn, 'eventSourceARN'),
      strip(noBody, 'body'),
      strip(noAttributes, 'attributes'),
      null,
    ],
  };
  const { failures, error } = await answer(event);
  const failed = new Set(failures);
  const inDlq = (id: string) =>
    (sqs.server.inspectQueue(dlq)?.messages.ready ?? []).some((m) =>
      m.messageAttributes[DEAD_LETTER_ATTRIBUTE]?.StringValue?.includes(id),
    );
  const state = (id: string) =>
    `${seen.has(id) ? 'ran' : 'not run'}, ${failed.has(id) ? 'reported failed' : 'not reported'}${inDlq(id) ? ', in the DLQ' : ''}`;
  // [label, the record, what must happen, whether it ran, whether it was reported failed, whether in the DLQ]
  const expectations: [string, SQSRecord | undefined, string, boolean, boolean, boolean][] = [
    ['an intact record', intact, 'runs, not reported', true, false, false],
    [
      'a record without messageId',
      noId,
      'not run (nothing to report it by); the queue delivers it again',
      false,
      false,
      false,
    ],
    ['a record without receiptHandle', noReceipt, 'not run, reported failed', false, true, false],
    ['a record without eventSourceARN', noArn, 'not run, reported failed', false, true, false],
    // Malformed, so dead; but SQS refuses an empty body, so the dead-letter send fails and the record is
    // released to come back (with its real body, from SQS) in a minute.
    [
      'a record without body',
      noBody,
      'not run; dead-lettering an empty body fails, so reported failed',
      false,
      true,
      false,
    ],
    [
      'a record without attributes',
      noAttributes,
      'runs as a first receive, not reported',
      true,
      false,
      false,
    ],
  ];
  for (const [label, record, expected, ran, reported, dead] of expectations) {
    const id = (record as SQSRecord).messageId;
    const ok =
      seen.has(id) === ran && failed.has(id) === reported && inDlq(id) === dead && error === undefined;
    results.push({ name: `one batch: ${label}`, expected, observed: state(id), ok });
  }
  results.push({
    name: 'one batch: a null record',
    expected: 'skipped',
    observed: error ?? 'skipped',
    ok: !error,
  });
  return results;
}
