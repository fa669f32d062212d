import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';

// The same worker with Powertools: batch processing, logger, tracer and idempotency on DynamoDB.
const logger = new Logger({ serviceName: 'receipts' });
const tracer = new Tracer({ serviceName: 'receipts' });
const processor = new BatchProcessor(EventType.SQS);
const config = new IdempotencyConfig({ eventKeyJmesPath: 'messageId' });
const persistenceStore = new DynamoDBPersistenceLayer({
  tableName: process.env.IDEMPOTENCY_TABLE ?? 'idempotency',
});

const recordHandler = makeIdempotent(
  async (record: SQSRecord) => {
    const { orderId, email } = JSON.parse(record.body) as { orderId: string; email: string };
    logger.info('sending the receipt', { orderId, email });
  },
  { persistenceStore, config },
);

export const handler = async (event: SQSEvent, context: Context) => {
  logger.addContext(context);
  config.registerLambdaContext(context);
  const segment = tracer.getSegment();
  const subsegment = segment?.addNewSubsegment('## handler');
  if (subsegment) tracer.setSegment(subsegment);
  try {
    return await processPartialResponse(event, recordHandler, processor, { context });
  } finally {
    subsegment?.close();
    if (segment) tracer.setSegment(segment);
  }
};
