import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createWorker } from '@glasswork/core';
import { idempotencyPlugin } from '@glasswork/idempotency';
import { dynamoDbStore } from '@glasswork/idempotency-dynamodb';
import { createSqsHandler } from '@glasswork/lambda';
import { otelPlugin } from '@glasswork/otel';
import { pinoPlugin } from '@glasswork/pino';
import { pino } from 'pino';
import { sendReceipt } from './jobs.ts';

// The example Lambda worker: tracing, logging and idempotency on DynamoDB around one job's handler.
const worker = createWorker({
  plugins: [
    otelPlugin(),
    pinoPlugin({ logger: pino() }),
    idempotencyPlugin({
      store: dynamoDbStore({
        client: new DynamoDBClient({}),
        table: process.env.IDEMPOTENCY_TABLE ?? 'idempotency',
      }),
    }),
  ],
}).handle(sendReceipt, async ({ orderId, email }, ctx) => {
  ctx.log.info({ orderId, email }, 'sending the receipt');
});

export const handler = createSqsHandler(worker);
