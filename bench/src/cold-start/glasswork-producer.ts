import { createClient } from '@glasswork/core';
import { sqsDriver } from '@glasswork/sqs';
import { sendReceipt } from './jobs.ts';

// The producer side: an API handler that enqueues the job (contract, client, SQS driver; no worker code).
const client = createClient({ driver: sqsDriver({ queues: { receipts: process.env.QUEUE_URL ?? '' } }) });

export const handler = async (event: { orderId: string; email: string }) => {
  const { id } = await client.enqueue(sendReceipt, { orderId: event.orderId, email: event.email });
  return { statusCode: 202, body: JSON.stringify({ id }) };
};
