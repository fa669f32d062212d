import { GlassworkError } from '@glasswork/core';

/** Options of `SqsError`. */
export interface SqsErrorOptions {
  cause?: unknown;
  /** SQS's error code, e.g. `InvalidParameterValue`. */
  sqsCode?: string | undefined;
  /** Whether SQS blamed the request (`true`) or itself (`false`, worth retrying). */
  senderFault?: boolean | undefined;
}

/** SQS refused a request or one entry of a batch; `sqsCode` says why. */
export class SqsError extends GlassworkError {
  override readonly code: string = 'SQS';
  readonly sqsCode: string | undefined;
  readonly senderFault: boolean | undefined;
  constructor(message: string, options: SqsErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.sqsCode = options.sqsCode;
    this.senderFault = options.senderFault;
  }
}

/** A dead-letter send or the delete after it failed; the message stays in its queue to be tried again. */
export class DeadLetterError extends GlassworkError {
  override readonly code: string = 'DEAD_LETTER_FAILED';
  /** Whether the copy reached the dead-letter queue (only the delete of the original failed). */
  readonly sent: boolean;
  constructor(message: string, sent: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.sent = sent;
  }
}

const PREFIX = 'AWS.SimpleQueueService.';

/**
 * The SQS error code of an SDK error. SQS's JSON protocol reports some codes under their legacy query
 * names (`AWS.SimpleQueueService.NonExistentQueue`), and emulators do so for more of them, so both the
 * name and `Code` are read and the prefix is dropped.
 */
export function sqsErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { name?: unknown; Code?: unknown };
  const raw = typeof e.Code === 'string' ? e.Code : typeof e.name === 'string' ? e.name : undefined;
  return raw?.startsWith(PREFIX) ? raw.slice(PREFIX.length) : raw;
}

/** Codes that say this consumer no longer holds the message: its visibility ran out, or it was deleted. */
const MESSAGE_GONE_CODES = new Set(['MessageNotInflight', 'ReceiptHandleIsInvalid']);

/** Whether an SQS error code (from `sqsErrorCode` or an `SqsError`'s `sqsCode`) says the message is gone. */
export function isMessageGone(code: string | undefined): boolean {
  return code !== undefined && MESSAGE_GONE_CODES.has(code);
}

const RETRYABLE_CODES = new Set([
  'ThrottlingException',
  'Throttling',
  'RequestThrottled',
  'TooManyRequestsException',
  'KmsThrottled',
  'ServiceUnavailable',
  'InternalError',
  'InternalFailure',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Whether an SQS call that failed with `error` may succeed if made again (throttling, 5xx, a reset). */
export function isRetryableSqsError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as {
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: number };
    code?: unknown;
    name?: unknown;
  };
  if (e.name === 'AbortError') return false;
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  const code = sqsErrorCode(error);
  if (code !== undefined && RETRYABLE_CODES.has(code)) return true;
  return typeof e.code === 'string' && NETWORK_CODES.has(e.code);
}
