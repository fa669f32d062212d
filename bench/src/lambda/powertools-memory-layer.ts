import {
  IdempotencyItemAlreadyExistsError,
  IdempotencyItemNotFoundError,
  IdempotencyRecordStatus,
} from '@aws-lambda-powertools/idempotency';
import type { IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';
import { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';

/**
 * Powertools' idempotency records in a Map, with the conditions its DynamoDB layer puts on a write: a new
 * record may replace one only if that one is expired, or in progress past its in-progress expiry.
 * `delayMs` makes every call take that long first, like a store across a network.
 */
export class MemoryPersistenceLayer extends BasePersistenceLayer {
  readonly #records = new Map<string, IdempotencyRecord>();
  readonly #delayMs: number;

  constructor(delayMs = 0) {
    super();
    this.#delayMs = delayMs;
  }

  #wait(): Promise<void> | undefined {
    return this.#delayMs > 0 ? new Promise((resolve) => setTimeout(resolve, this.#delayMs)) : undefined;
  }

  protected async _getRecord(idempotencyKey: string): Promise<IdempotencyRecord> {
    await this.#wait();
    const record = this.#records.get(idempotencyKey);
    if (!record) throw new IdempotencyItemNotFoundError();
    return record;
  }

  protected async _putRecord(record: IdempotencyRecord): Promise<void> {
    await this.#wait();
    const existing = this.#records.get(record.idempotencyKey);
    if (existing) {
      const now = Date.now();
      const lockOver =
        existing.getStatus() === IdempotencyRecordStatus.INPROGRESS &&
        existing.inProgressExpiryTimestamp !== undefined &&
        existing.inProgressExpiryTimestamp < now;
      if (!existing.isExpired() && !lockOver) {
        throw new IdempotencyItemAlreadyExistsError(
          `Failed to put record for already existing idempotency key: ${record.idempotencyKey}`,
          existing,
        );
      }
    }
    this.#records.set(record.idempotencyKey, record);
  }

  protected async _updateRecord(record: IdempotencyRecord): Promise<void> {
    await this.#wait();
    this.#records.set(record.idempotencyKey, record);
  }

  protected async _deleteRecord(record: IdempotencyRecord): Promise<void> {
    await this.#wait();
    this.#records.delete(record.idempotencyKey);
  }
}
