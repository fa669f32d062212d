import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { Logger } from '@aws-lambda-powertools/logger';
import type { SQSBatchItemFailure, SQSRecord } from 'aws-lambda';
import type { SqsHandler, Work } from './events.ts';
import { MemoryPersistenceLayer } from './powertools-memory-layer.ts';

/** How a contender is set up for one run: a fresh handler, fresh stores. */
export interface Setup {
  readonly work: Work;
  /** Every call of the idempotency store waits this long first (0: answers at once). */
  readonly storeDelayMs: number;
}

export interface Built {
  readonly handler: SqsHandler;
  /** Counters to report beside the timings (SQS calls the handler made, say). */
  stats?(): Record<string, number>;
}

export type Contender = (setup: Setup) => Built | Promise<Built>;

/** A sink that drops what is written, for both contenders' loggers: the cost is formatting, not I/O. */
export const discard = () =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });

/** The floor: parse each body, call the handler, report the records that threw. */
export const bareLoop: Contender = ({ work }) => ({
  async handler(event) {
    const batchItemFailures: SQSBatchItemFailure[] = [];
    for (const record of event.Records) {
      try {
        await work((JSON.parse(record.body) as { payload: { n: number } }).payload);
      } catch {
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  },
});

const payloadOf = (record: SQSRecord) => (JSON.parse(record.body) as { payload: { n: number } }).payload;

/** Powertools' batch utility as its documentation sets it up, with nothing else. */
export const powertools: Contender = ({ work }) => {
  const processor = new BatchProcessor(EventType.SQS);
  const recordHandler = (record: SQSRecord) => work(payloadOf(record));
  return {
    handler: (event, context) => processPartialResponse(event, recordHandler, processor, { context }),
  };
};

/**
 * Powertools with its logger (the Lambda context added per invocation, one info line per record, to a
 * discarding console) and `makeIdempotent` on the record handler, keyed on the message id as its
 * documentation does for SQS, over an in-memory persistence layer.
 */
export const powertoolsFull: Contender = ({ work, storeDelayMs }) => {
  const processor = new BatchProcessor(EventType.SQS);
  const logger = new Logger({ serviceName: 'bench', logLevel: 'INFO' });
  // Its console is private and bound to stdout; swap it for one that writes to the sink.
  (logger as unknown as { console: Console }).console = new Console({ stdout: discard(), stderr: discard() });
  const config = new IdempotencyConfig({ eventKeyJmesPath: 'messageId' });
  const persistenceStore = new MemoryPersistenceLayer(storeDelayMs);
  const recordHandler = makeIdempotent(
    async (record: SQSRecord) => {
      await work(payloadOf(record));
      logger.info('job succeeded', { messageId: record.messageId });
    },
    { persistenceStore, config },
  );
  return {
    handler(event, context) {
      logger.addContext(context);
      config.registerLambdaContext(context);
      return processPartialResponse(event, recordHandler, processor, { context });
    },
  };
};
