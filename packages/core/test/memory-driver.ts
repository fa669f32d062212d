import type { Delivery, DriverCapabilities, OutgoingMessage, QueueDriver, SendResult } from '../src/index.ts';

/** A minimal driver for core tests: records each send call; `fail` rejects chosen messages. */
export function memoryDriver(
  options: {
    capabilities?: Partial<DriverCapabilities>;
    fail?: (message: OutgoingMessage) => Error | undefined;
    maxMessageBytes?: number;
  } = {},
) {
  const calls: { queue: string; messages: readonly OutgoingMessage[] }[] = [];
  const sent: (Omit<Delivery, 'receiveCount'> & { message: OutgoingMessage })[] = [];
  let id = 0;
  const driver: QueueDriver & { calls: typeof calls; sent: typeof sent } = {
    name: 'memory',
    capabilities: {
      maxBatchSize: 10,
      maxBatchBytes: 1_048_576,
      maxDelaySeconds: 900,
      fifo: true,
      fifoDelay: false,
      ...options.capabilities,
    },
    async describeQueue(queue) {
      return { fifo: queue.endsWith('.fifo'), maxMessageBytes: options.maxMessageBytes };
    },
    async send(queue, messages): Promise<SendResult[]> {
      calls.push({ queue, messages });
      return messages.map((message) => {
        const error = options.fail?.(message);
        if (error) return { ok: false, error };
        const messageId = `m-${++id}`;
        sent.push({ messageId, body: message.body, queue, attributes: message.attributes, message });
        return { ok: true, messageId };
      });
    },
    calls,
    sent,
  };
  return driver;
}
