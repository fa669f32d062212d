import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { createSqsHandler, runEventSourceMapping } from '@glasswork/lambda';
import { DEAD_LETTER_ATTRIBUTE } from '@glasswork/sqs';
import type { LocalSqs } from '@glasswork/sqs/local';
import { startLocalSqs } from '@glasswork/sqs/local';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument, type ScalarTag } from 'yaml';
import { MAX_ATTEMPTS } from '../src/jobs.ts';

let sqs: LocalSqs;
beforeAll(async () => {
  sqs = await startLocalSqs({ queues: [{ name: 'emails', maxReceiveCount: 10, visibilityTimeout: 5 }] });
  process.env.EMAILS_QUEUE_URL = sqs.queues.emails!.url;
  process.env.AWS_ENDPOINT_URL_SQS = sqs.endpoint;
  process.env.AWS_REGION = sqs.region;
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
});
afterAll(async () => sqs?.stop());

const post = (body: unknown) => ({ body: JSON.stringify(body) }) as APIGatewayProxyEventV2;

describe('the SAM example', () => {
  it('runs the API and the worker against the emulator, as deployed', async () => {
    // Imported after the environment is set, as Lambda would load them.
    const producer = await import('../src/producer.ts');
    const { worker, mailer } = await import('../src/worker.ts');
    const sent: string[] = [];
    mailer.send = async (to) => void sent.push(to);

    const ok = (await producer.handler(
      post({ userId: 'u1', email: 'ada@example.com' }),
    )) as APIGatewayProxyStructuredResultV2;
    expect(ok.statusCode).toBe(202);
    const bad = (await producer.handler(
      post({ userId: 'u2', email: 'not an email' }),
    )) as APIGatewayProxyStructuredResultV2;
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(String(bad.body)).error).toMatch(/Invalid payload for job "send-welcome-email": email/);
    await producer.handler(post({ userId: 'u3', email: 'gone@invalid.example' }));

    // The deployed handler, unchanged: AWS_ENDPOINT_URL_SQS points its SDK client at the emulator.
    const mapping = runEventSourceMapping({
      client: sqs.client,
      queueUrl: sqs.queues.emails!.url,
      handler: createSqsHandler(worker),
      timeout: '30s',
      waitTime: '1s',
    });
    const deadline = Date.now() + 15_000;
    while (sqs.count('emails') > 0 || sent.length < 1) {
      if (Date.now() > deadline) throw new Error('the worker did not finish');
      await new Promise((r) => setTimeout(r, 25));
    }
    await mapping.stop();
    expect(sent).toEqual(['ada@example.com']);
    const dead = await sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: sqs.queues.emails!.deadLetter!.url,
        MessageAttributeNames: ['All'],
      }),
    );
    const info = JSON.parse(
      dead.Messages?.[0]?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTE]?.StringValue ?? '{}',
    );
    expect(info.reason).toBe('permanent failure: cannot deliver to gone@invalid.example');
  }, 30_000);

  it('has a template whose settings match the code', () => {
    // CloudFormation's short forms, kept as text: the test reads settings, not references.
    const tags: ScalarTag[] = ['!GetAtt', '!Ref', '!Sub'].map((tag) => ({
      tag,
      resolve: (value) => `${tag} ${value}`,
    }));
    const template = parseDocument(readFileSync(join(import.meta.dirname, '..', 'template.yaml'), 'utf8'), {
      customTags: tags,
    }).toJS() as { Resources: Record<string, { Properties: any }> };
    const { EmailsQueue, WorkerFunction } = template.Resources;
    const queue = EmailsQueue!.Properties;
    const worker = WorkerFunction!.Properties;
    expect(queue.RedrivePolicy.maxReceiveCount).toBeGreaterThanOrEqual(MAX_ATTEMPTS + 5);
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * worker.Timeout);
    expect(worker.Events.Emails.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    const actions = worker.Policies.flatMap((p: any) => p.Statement.flatMap((s: any) => s.Action));
    expect(actions).toEqual(expect.arrayContaining(['sqs:ChangeMessageVisibility', 'sqs:SendMessage']));
  });
});
