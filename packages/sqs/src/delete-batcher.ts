import type { BatchFailure } from './api.ts';
import { backoff, deleteMessageBatch, sleep } from './api.ts';
import { isRetryableSqsError, SqsError, sqsErrorCode } from './errors.ts';
import type { SqsClientLike } from './types.ts';

interface Pending {
  readonly receipt: string;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  attempt: number;
  error?: Error;
}

/**
 * Collects deletes of one queue for a few milliseconds and sends them ten at a time with DeleteMessageBatch,
 * so a busy consumer makes one request per ten acknowledgements. Each `delete` resolves when its own entry
 * was deleted; entries and requests that fail in a retryable way are tried again with backoff.
 */
export class DeleteBatcher {
  readonly #client: () => SqsClientLike;
  readonly #url: string;
  readonly #windowMs: number;
  readonly #attempts: number;
  #queue: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(client: () => SqsClientLike, url: string, options: { windowMs: number; attempts: number }) {
    this.#client = client;
    this.#url = url;
    this.#windowMs = options.windowMs;
    this.#attempts = Math.max(1, options.attempts);
  }

  delete(receipt: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ receipt, resolve, reject, attempt: 0 });
      this.#schedule();
    });
  }

  /** Sends what is waiting now and waits for every request in flight. */
  async flush(): Promise<void> {
    while (this.#queue.length > 0 || this.#inFlight.size > 0) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = undefined;
      while (this.#queue.length > 0) this.#send(this.#queue.splice(0, 10));
      await Promise.all(this.#inFlight);
    }
  }

  #schedule(): void {
    while (this.#queue.length >= 10) this.#send(this.#queue.splice(0, 10));
    if (this.#queue.length > 0 && !this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        if (this.#queue.length > 0) this.#send(this.#queue.splice(0, 10));
        this.#schedule();
      }, this.#windowMs);
    }
  }

  #send(batch: Pending[]): void {
    const request = this.#request(batch).finally(() => this.#inFlight.delete(request));
    this.#inFlight.add(request);
  }

  async #request(batch: Pending[]): Promise<void> {
    for (const item of batch) item.attempt++;
    const ids = new Map(batch.map((item, index) => [`d${index}`, item]));
    const again: Pending[] = [];
    try {
      const out = await deleteMessageBatch(
        this.#client(),
        this.#url,
        [...ids].map(([id, item]) => ({ Id: id, ReceiptHandle: item.receipt })),
      );
      const done = new Set((out.Successful ?? []).map((s) => s.Id));
      const failures = new Map((out.Failed ?? []).map((f) => [f.Id, f]));
      for (const [id, item] of ids) {
        if (done.has(id)) {
          item.resolve();
          continue;
        }
        const failure = failures.get(id) ?? {
          SenderFault: false,
          Code: 'InternalError',
          Message: 'SQS reported neither success nor failure for this entry',
        };
        item.error = deleteError(failure);
        if (failure.SenderFault === false) again.push(item);
        else item.reject(item.error);
      }
    } catch (error) {
      const failure = new SqsError(`DeleteMessageBatch failed: ${(error as Error)?.message ?? error}`, {
        cause: error,
        sqsCode: sqsErrorCode(error),
      });
      for (const item of batch) {
        item.error = failure;
        if (isRetryableSqsError(error)) again.push(item);
        else item.reject(failure);
      }
    }
    if (again.length > 0) await this.#retry(again);
  }

  async #retry(items: Pending[]): Promise<void> {
    const ready: Pending[] = [];
    for (const item of items) {
      if (item.attempt < this.#attempts) ready.push(item);
      else item.reject(item.error ?? new SqsError('DeleteMessageBatch failed'));
    }
    if (ready.length === 0) return;
    await sleep(backoff(Math.max(...ready.map((i) => i.attempt)), 100, 2000));
    this.#queue.push(...ready);
    this.#schedule();
  }
}

function deleteError(failure: BatchFailure, note = ''): SqsError {
  const code = failure.Code ? sqsErrorCode({ Code: failure.Code }) : undefined;
  return new SqsError(
    `SQS could not delete the message (${code ?? 'no code'}): ${failure.Message ?? 'no reason given'}${note}`,
    { sqsCode: code, senderFault: failure.SenderFault },
  );
}
