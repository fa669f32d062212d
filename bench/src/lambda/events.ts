import { JOB_NAME_ATTRIBUTE } from '@glasswork/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { envelopeBody } from '../jobs.ts';

export const QUEUE_ARN = 'arn:aws:sqs:us-east-1:123456789012:bench';
export const RECORDS_PER_EVENT = 10;

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

/** What every contender's handler calls for each record: counts it, and fails 1 in 20 when asked. */
export interface Work {
  (payload: { n: number }): Promise<void>;
  handled: number;
}

export function createWork(failing: boolean): Work {
  const work = (async (payload: { n: number }) => {
    work.handled++;
    if (failing && payload.n % 20 === 19) throw new Error(`job ${payload.n} failed (on purpose)`);
  }) as Work;
  work.handled = 0;
  return work;
}

/** Records with Glasswork envelopes as bodies (fresh job ids per call), `RECORDS_PER_EVENT` to an event. */
export function buildEvents(records: number, run: number): SQSEvent[] {
  const sent = String(Date.now());
  const events: SQSEvent[] = [];
  for (let start = 0; start < records; start += RECORDS_PER_EVENT) {
    const Records: SQSRecord[] = [];
    for (let n = start; n < Math.min(records, start + RECORDS_PER_EVENT); n++) {
      const messageId = `m-${run}-${n}`;
      Records.push({
        messageId,
        receiptHandle: `rh-${run}-${n}`,
        // Flat, as a body parsed from Lambda's JSON event would be: a concatenated string is flattened on its
        // first read, which would free memory in the middle of the measurement.
        body: Buffer.from(envelopeBody(n, `job-${run}-${n}`)).toString(),
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: sent,
          SenderId: 'AIDAEXAMPLE',
          ApproximateFirstReceiveTimestamp: sent,
        },
        messageAttributes: { [JOB_NAME_ATTRIBUTE]: { dataType: 'String', stringValue: 'bench' } },
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: QUEUE_ARN,
        awsRegion: 'us-east-1',
      });
    }
    events.push({ Records });
  }
  return events;
}

/** A Lambda context with a minute left on every invocation (nothing here reads the wall clock against it). */
export function lambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'bench',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:bench',
    memoryLimitInMB: '1024',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: '/aws/lambda/bench',
    logStreamName: '2026/01/01/[$LATEST]bench',
    getRemainingTimeInMillis: () => 60_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
