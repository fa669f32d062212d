import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { startLocalSqs } from '@glasswork/sqs/local';

/** A queue of the demo and its dead-letter queue. */
export interface DemoQueue {
  readonly name: string;
  readonly url: string;
  readonly deadLetterUrl: string;
}

/** Where the demo's queues live: the emulator in this process, or an endpoint (LocalStack, SQS). */
export interface DemoQueues {
  readonly client: SQSClient;
  /** Set for the emulator and `--endpoint`; undefined means the SDK's default (AWS). */
  readonly endpoint: string | undefined;
  /** For the header: what the queues run on. */
  readonly where: string;
  readonly jobs: DemoQueue;
  readonly ledger: DemoQueue;
  stop(): Promise<void>;
}

/** Seconds. At least six times the function timeout, as AWS recommends for an SQS trigger. */
export const VISIBILITY_TIMEOUT = 60;
/** The function timeout of the local event source mapping. */
export const FUNCTION_TIMEOUT = '10s';
/** Redrive after this many receives: at least the jobs' `maxAttempts` (5) plus 5. */
export const MAX_RECEIVE_COUNT = 10;

/** The SQS emulator (fauxqs) in this process, on loopback, with both queues and their dead-letter queues. */
export async function localQueues(): Promise<DemoQueues> {
  const sqs = await startLocalSqs({
    queues: ['jobs', 'ledger.fifo'].map((name) => ({
      name,
      visibilityTimeout: VISIBILITY_TIMEOUT,
      maxReceiveCount: MAX_RECEIVE_COUNT,
    })),
  });
  const queue = (name: string): DemoQueue => {
    const created = sqs.queues[name];
    if (!created?.deadLetter) throw new Error(`the emulator did not create ${name} with a dead-letter queue`);
    return { name, url: created.url, deadLetterUrl: created.deadLetter.url };
  };
  return {
    client: sqs.client,
    endpoint: sqs.endpoint,
    where: `the SQS emulator in this process (${sqs.endpoint})`,
    jobs: queue('jobs'),
    ledger: queue('ledger.fifo'),
    stop: () => sqs.stop(),
  };
}

/**
 * Creates the queues on an SQS endpoint (LocalStack, or SQS itself with your credentials), under names of
 * their own, and deletes them on `stop` unless `keep` is set.
 */
export async function remoteQueues(options: {
  endpoint: string;
  region: string;
  keep: boolean;
}): Promise<DemoQueues> {
  // SQS itself: your credentials, from the SDK's usual chain. LocalStack and other emulators take any key,
  // so dummy ones are used there unless the environment has some.
  const isAws = /\.amazonaws\.com(\.cn)?$/.test(new URL(options.endpoint).hostname);
  const hasCredentials = Boolean(process.env.AWS_ACCESS_KEY_ID || process.env.AWS_PROFILE);
  const client = new SQSClient({
    endpoint: options.endpoint,
    region: options.region,
    ...(isAws || hasCredentials ? {} : { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
  });
  const prefix = `glasswork-demo-${Math.random().toString(36).slice(2, 8)}`;
  const created: string[] = [];
  const create = async (name: string, attributes: Record<string, string>): Promise<string> => {
    const { QueueUrl } = await client.send(
      new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
    );
    if (!QueueUrl) throw new Error(`CreateQueue ${name} returned no QueueUrl`);
    created.push(QueueUrl);
    return QueueUrl;
  };
  const pair = async (base: string, fifo: boolean): Promise<DemoQueue> => {
    const suffix = fifo ? '.fifo' : '';
    const fifoAttributes: Record<string, string> = fifo ? { FifoQueue: 'true' } : {};
    const deadLetterUrl = await create(`${prefix}-${base}-dlq${suffix}`, fifoAttributes);
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: deadLetterUrl, AttributeNames: ['QueueArn'] }),
    );
    const name = `${prefix}-${base}${suffix}`;
    const url = await create(name, {
      ...fifoAttributes,
      VisibilityTimeout: String(VISIBILITY_TIMEOUT),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: Attributes?.QueueArn,
        maxReceiveCount: MAX_RECEIVE_COUNT,
      }),
    });
    return { name, url, deadLetterUrl };
  };
  try {
    const jobs = await pair('jobs', false);
    const ledger = await pair('ledger', true);
    return {
      client,
      endpoint: options.endpoint,
      where: `${options.endpoint} (queues ${prefix}-*${options.keep ? ', kept afterwards' : ', deleted afterwards'})`,
      jobs,
      ledger,
      async stop() {
        if (!options.keep) {
          await Promise.allSettled(
            created.map((QueueUrl) => client.send(new DeleteQueueCommand({ QueueUrl }))),
          );
        }
        client.destroy();
      },
    };
  } catch (error) {
    await Promise.allSettled(created.map((QueueUrl) => client.send(new DeleteQueueCommand({ QueueUrl }))));
    client.destroy();
    throw error;
  }
}
