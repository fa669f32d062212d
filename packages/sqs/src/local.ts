import { SQSClient } from '@aws-sdk/client-sqs';
import type { FauxqsServer } from 'fauxqs';
import { startFauxqs } from 'fauxqs';

/** A queue to create on the local emulator. */
export interface LocalQueueSpec {
  readonly name: string;
  /** @default true when the name ends in `.fifo` */
  readonly fifo?: boolean;
  /** Seconds. @default 30 */
  readonly visibilityTimeout?: number;
  /** The redrive policy's `maxReceiveCount` towards a `<name>-dlq` queue; `false` for no dead-letter queue. @default 10 */
  readonly maxReceiveCount?: number | false;
  /** More queue attributes (`ContentBasedDeduplication`, `DelaySeconds`, ...). */
  readonly attributes?: Readonly<Record<string, string>>;
}

/** A queue on the local emulator. */
export interface LocalQueue {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  readonly deadLetter: { readonly name: string; readonly url: string; readonly arn: string } | undefined;
}

/** An SQS emulator running in this process. */
export interface LocalSqs {
  /** Pass it to `sqsDriver({ endpoint })`, `createSqsHandler(worker, { endpoint })` and SDK clients. */
  readonly endpoint: string;
  readonly region: string;
  /** A client for the emulator (dummy credentials). */
  readonly client: SQSClient;
  readonly server: FauxqsServer;
  /** The queues created so far, by name. */
  readonly queues: Readonly<Record<string, LocalQueue>>;
  /** Creates a queue (with its dead-letter queue and redrive policy unless `maxReceiveCount: false`). */
  createQueue(spec: LocalQueueSpec | string): LocalQueue;
  /** Messages a queue holds in any state (ready, delayed, in flight); 0 for a queue that does not exist. */
  count(queue: string): number;
  stop(): Promise<void>;
}

/**
 * Starts the SQS emulator fauxqs in this process, on loopback, with the queues you name, each with a
 * dead-letter queue and a redrive policy as production should have. For local development, demos and
 * tests: the real SQS wire protocol with nothing to install. Needs the `fauxqs` package (Node 22.5+).
 */
export async function startLocalSqs(
  options: { port?: number; region?: string; queues?: readonly (LocalQueueSpec | string)[] } = {},
): Promise<LocalSqs> {
  const region = options.region ?? 'us-east-1';
  const server = await startFauxqs({
    port: options.port ?? 0,
    logger: false,
    host: '127.0.0.1',
    defaultRegion: region,
  });
  const endpoint = `http://127.0.0.1:${server.port}`;
  const client = new SQSClient({
    endpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const queues: Record<string, LocalQueue> = {};

  function createQueue(input: LocalQueueSpec | string): LocalQueue {
    const spec = typeof input === 'string' ? { name: input } : input;
    const fifo = spec.fifo ?? spec.name.endsWith('.fifo');
    const base: Record<string, string> = fifo ? { FifoQueue: 'true' } : {};
    const attributes: Record<string, string> = {
      ...base,
      VisibilityTimeout: String(spec.visibilityTimeout ?? 30),
      ...spec.attributes,
    };
    let deadLetter: LocalQueue['deadLetter'];
    if (spec.maxReceiveCount !== false) {
      const dlqName = fifo ? `${spec.name.slice(0, -'.fifo'.length)}-dlq.fifo` : `${spec.name}-dlq`;
      const dlq = server.createQueue(dlqName, { region, attributes: base });
      deadLetter = { name: dlq.queueName, url: dlq.queueUrl, arn: dlq.queueArn };
      attributes.RedrivePolicy = JSON.stringify({
        deadLetterTargetArn: dlq.queueArn,
        maxReceiveCount: spec.maxReceiveCount ?? 10,
      });
    }
    const created = server.createQueue(spec.name, { region, attributes });
    const queue = { name: created.queueName, url: created.queueUrl, arn: created.queueArn, deadLetter };
    queues[spec.name] = queue;
    return queue;
  }

  for (const spec of options.queues ?? []) createQueue(spec);
  return {
    endpoint,
    region,
    client,
    server,
    queues,
    createQueue,
    count(queue) {
      const held = server.inspectQueue(queue)?.messages;
      return held ? held.ready.length + held.delayed.length + held.inflight.length : 0;
    },
    async stop() {
      client.destroy();
      await server.stop();
    },
  };
}
