import { createClient } from '@glasswork/core';
import { sqsDriver } from '@glasswork/sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { sendWelcomeEmail } from './jobs.ts';

// Only the job contract is imported: the API bundle carries no worker code.
const client = createClient({
  driver: sqsDriver({ queues: { emails: process.env.EMAILS_QUEUE_URL ?? 'emails' } }),
});

/** The API's entry point (template.yaml: Handler: producer.handler): POST /signup { userId, email }. */
export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyResultV2> {
  let body: { userId?: unknown; email?: unknown };
  try {
    body = JSON.parse(event.body ?? '{}');
  } catch {
    return { statusCode: 400, body: JSON.stringify({ error: 'the body is not JSON' }) };
  }
  try {
    const job = await client.enqueue(sendWelcomeEmail, {
      userId: String(body.userId),
      email: String(body.email),
    });
    return { statusCode: 202, body: JSON.stringify({ jobId: job.id }) };
  } catch (error) {
    // InvalidJobPayloadError and friends say what is wrong; a 400 tells the caller.
    return { statusCode: 400, body: JSON.stringify({ error: (error as Error).message }) };
  }
}
