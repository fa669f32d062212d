import { SQSClient } from '@aws-sdk/client-sqs';
import { type FauxqsServer, startFauxqs } from 'fauxqs';

/** An in-process SQS emulator on a free loopback port, with a client pointed at it. */
export async function startSqs(): Promise<{
  server: FauxqsServer;
  client: SQSClient;
  endpoint: string;
  stop(): Promise<void>;
}> {
  const server = await startFauxqs({ port: 0, logger: false });
  const endpoint = `http://127.0.0.1:${server.port}`;
  const client = new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  return {
    server,
    client,
    endpoint,
    async stop() {
      client.destroy();
      await server.stop();
    },
  };
}
