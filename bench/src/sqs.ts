import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SqsClientLike } from '@glasswork/sqs';

// The unit of /proc/<pid>/stat times (USER_HZ), 100 on every Linux architecture Node runs on.
const TICKS_PER_SECOND = 100;

/** fauxqs in a child process, with an SDK client pointed at it. */
export async function startEmulator() {
  const here = (file: string) => new URL(file, import.meta.url).pathname;
  const child = spawn(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', '--import', here('./register.ts'), here('./fauxqs-server.ts')],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  // One reply line per request, in order.
  const pending: { resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
  let exited: Error | undefined;
  child.once('exit', (code) => {
    exited = new Error(`fauxqs exited with ${code}`);
    for (const p of pending.splice(0)) p.reject(exited);
  });
  createInterface({ input: child.stdout }).on('line', (line) => pending.shift()?.resolve(line));
  const reply = () =>
    new Promise<string>((resolve, reject) => (exited ? reject(exited) : pending.push({ resolve, reject })));
  const first = await reply();
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
    /** CPU time the emulator process has used, in ms (Linux; 0 elsewhere). */
    cpuMs(): number {
      try {
        const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
        return ((Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND) * 1000;
      } catch {
        return 0;
      }
    },
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
    /** Puts `count` Glasswork envelopes of the bench job on the queue, in the emulator's memory. */
    async fill(queueUrl: string, count: number): Promise<void> {
      const answer = reply();
      child.stdin.write(`${JSON.stringify({ fill: queueUrl.split('/').at(-1), count })}\n`);
      await answer;
    },
    close() {
      client.destroy();
      child.stdin.end();
    },
  };
}

/** Counts the requests made through a client, by operation, and the messages they deleted. */
export function counting(inner: SqsClientLike) {
  const counts = new Map<string, number>();
  const client = {
    /** Messages deleted so far (DeleteMessage, and the successful entries of DeleteMessageBatch). */
    deleted: 0,
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    count: (name: string) => counts.get(name) ?? 0,
    async send(command: any, options?: any) {
      const name = command.constructor.name.replace(/Command$/, '');
      counts.set(name, (counts.get(name) ?? 0) + 1);
      const out = await inner.send(command, options);
      if (name === 'DeleteMessage') client.deleted++;
      if (name === 'DeleteMessageBatch') client.deleted += out?.Successful?.length ?? 0;
      return out;
    },
  };
  return client;
}
