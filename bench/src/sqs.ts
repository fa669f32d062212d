import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SqsClientLike } from '@glasswork/sqs';

/** fauxqs in a child process, with an SDK client pointed at it. */
export async function startEmulator() {
  const child = spawn(process.execPath, [new URL('./fauxqs-server.ts', import.meta.url).pathname], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const first = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`fauxqs exited with ${code}`)));
  });
  const { port } = JSON.parse(first) as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  let sequence = 0;
  return {
    endpoint,
    client,
    /** A fresh queue with a dead-letter queue; returns its URL. */
    async queue(prefix: string): Promise<string> {
      const name = `${prefix}-${++sequence}`;
      const dlq = await client.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
      const arn = await client.send(
        new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
      );
      const created = await client.send(
        new CreateQueueCommand({
          QueueName: name,
          Attributes: {
            RedrivePolicy: JSON.stringify({
              deadLetterTargetArn: arn.Attributes?.QueueArn,
              maxReceiveCount: 10,
            }),
          },
        }),
      );
      return created.QueueUrl as string;
    },
    close() {
      client.destroy();
      child.stdin.end();
    },
  };
}

/** Counts the requests made through a client, by operation. */
export function counting(inner: SqsClientLike) {
  const counts = new Map<string, number>();
  return {
    counts,
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    reset: () => counts.clear(),
    send(command: any, options?: any) {
      const name = command.constructor.name.replace(/Command$/, '');
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return inner.send(command, options);
    },
  };
}
